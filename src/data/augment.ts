/**
 * Seeded training augmentation on 8-bit grey images: one random affine warp per image (rotation, scale, shift,
 * bilinear sampling) plus brightness/contrast jitter, in one tight pass over the pixels. No tensors: it runs on
 * the byte buffers the training batches are built from, so it costs a fraction of a training step.
 *
 * No horizontal flip on purpose: chest X-rays are not left-right symmetric (the heart sits on the left), and a
 * model should not learn that mirrored anatomy is normal.
 *
 * Usage, filling a float batch from a packed dataset (n images of size² bytes, back to back):
 *   const augmenter = createAugmenter({ seed: 7 });
 *   augmenter.augmentBatch({ src: pixels, indices: [4, 17, 9], imageSize: 128, out: batchFloats });
 * or in place on a packed batch (deterministic in the batch seed and each image's position in the batch alone; the
 * trainer of src/engine/parallel/trainer.ts augments so, each replica its own share):
 *   augmenter.inPlace({ pixels, count: 32, imageSize: 128, seed: batchSeed });
 */
import { mixSeeds, seededRandom } from '../core/random.ts';

export interface AugmentOptions {
  /** Maximum rotation in degrees, drawn uniformly in [-r, r]. Default 10. */
  rotationDegrees?: number;
  /** Maximum relative zoom, drawn uniformly in [1 - s, 1 + s]. Default 0.1. */
  scale?: number;
  /** Maximum shift per axis as a fraction of the image side, drawn uniformly in [-f, f]. Default 0.1. */
  shift?: number;
  /** Maximum brightness change as a fraction of the full range (255), drawn in [-b, b]. Default 0.1. */
  brightness?: number;
  /** Maximum relative contrast change around mid-grey, drawn in [1 - c, 1 + c]. Default 0.1. */
  contrast?: number;
  /**
   * What the warp shows outside the source image: 'edge' repeats the border pixels (the usual choice for X-rays,
   * no artificial black frame), 'black' fills with 0. Default 'edge'.
   */
  fill?: 'edge' | 'black';
  /**
   * Zoom range [min, max] (> 1 zooms in, so the chest fills more of the frame), drawn log-uniformly. Overrides
   * `scale` when given. Wide and asymmetric ranges, e.g. [0.8, 1.45], teach the model that framing (tight
   * collimation, a child filling the detector) says nothing about pneumonia.
   */
  zoomRange?: [number, number];
  /** Maximum gamma change: gamma drawn log-uniformly in [1/g, g]; 1 = off (default). */
  gamma?: number;
  /**
   * Maximum unsharp-mask amount a, drawn in [-a, a]: out = img + a * (img - blur3x3(img)); negative values
   * blur. Mimics the edge enhancement different X-ray systems apply. 0 = off (default).
   */
  sharpness?: number;
  /** Maximum standard deviation of additive Gaussian noise in grey levels, drawn in [0, n]. 0 = off (default). */
  noise?: number;
}

/** The random parameters drawn for one image. */
export interface AugmentParams {
  /** Radians. */
  angle: number;
  zoom: number;
  /** Pixels, positive moves the content right. */
  shiftX: number;
  /** Pixels, positive moves the content down. */
  shiftY: number;
  /** Added to every (contrast-adjusted) value, in grey levels. */
  brightness: number;
  contrast: number;
  /** 1 = unchanged. */
  gamma: number;
  /** Unsharp-mask amount; 0 = unchanged, negative blurs. */
  sharpness: number;
  /** Noise standard deviation in grey levels; 0 = none. */
  noise: number;
}

/**
 * Augments `count` packed images in place: images `first` .. `first + count - 1` of a batch (default first 0),
 * each from its own stream of (augmenter seed, batch seed, position in the batch), so that parts of a batch
 * augmented apart (data-parallel replicas) come out as the whole batch would.
 */
export type InPlaceBatchAugment = (batch: {
  pixels: Uint8Array;
  count: number;
  imageSize: number;
  seed: number;
  first?: number;
}) => void;

export interface Augmenter {
  readonly options: ResolvedAugmentOptions;
  /**
   * Writes augmented copies of images `indices` of `src` (packed imageSize² bytes each) to `out`, image k at
   * offset k * imageSize². Float output holds grey levels in [0, 255] (not rounded), ready for a tensor.
   * Parameters come from the augmenter's own stream unless `seed` is given (then a pure function of it).
   */
  augmentBatch(batch: {
    src: Uint8Array;
    indices: ArrayLike<number>;
    imageSize: number;
    out: Float32Array | Uint8Array;
    seed?: number;
  }): void;
  /** Augments a batch in place, deterministically from (augmenter seed, batch seed): the training loop's hook. */
  readonly inPlace: InPlaceBatchAugment;
  /** Draws the parameters for one image from `random` (uniform [0, 1) numbers). */
  drawParams(random: () => number, imageSize: number): AugmentParams;
}

/** Options with every field set; `zoomRange` stays optional (absent = [1 - scale, 1 + scale]). */
export type ResolvedAugmentOptions = Required<Omit<AugmentOptions, 'zoomRange'>> &
  Pick<AugmentOptions, 'zoomRange'>;

/** The augmenter's defaults: mild enough to keep a film plausible. */
export const DEFAULT_AUGMENTATION: ResolvedAugmentOptions = {
  rotationDegrees: 10,
  scale: 0.1,
  shift: 0.1,
  brightness: 0.1,
  contrast: 0.1,
  fill: 'edge',
  gamma: 1,
  sharpness: 0,
  noise: 0,
};

/**
 * Named augmentation strengths for `cxr train --augment`. `mild` is the defaults. `strong` adds framing
 * invariance (zoom 0.8-1.45) and the photometric variety of other hospitals' systems (gamma, contrast, edge
 * enhancement or blur, noise): what made models hold up best on external images in our experiments (docs/model.md).
 */
export const AUGMENTATION_PRESETS = {
  mild: DEFAULT_AUGMENTATION,
  strong: {
    ...DEFAULT_AUGMENTATION,
    zoomRange: [0.8, 1.45],
    contrast: 0.4,
    brightness: 0.1,
    gamma: 1.6,
    sharpness: 0.8,
    noise: 6,
  },
} as const satisfies Record<string, ResolvedAugmentOptions>;

export type AugmentPreset = keyof typeof AUGMENTATION_PRESETS;

function checkOptions(options: ResolvedAugmentOptions): void {
  for (const key of [
    'rotationDegrees',
    'scale',
    'shift',
    'brightness',
    'contrast',
    'sharpness',
    'noise',
  ] as const) {
    const value = options[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`augmentation option ${key} must be a finite number >= 0, got ${value}`);
    }
  }
  if (options.scale >= 1) throw new Error(`augmentation option scale must be < 1, got ${options.scale}`);
  if (!(options.gamma >= 1)) throw new Error(`augmentation option gamma must be >= 1, got ${options.gamma}`);
  const zoom = options.zoomRange;
  if (zoom && !(zoom[0] > 0 && zoom[1] >= zoom[0] && Number.isFinite(zoom[1]))) {
    throw new Error(
      `augmentation option zoomRange must be [min, max] with 0 < min <= max, got ${zoom.join(', ')}`,
    );
  }
  if (options.fill !== 'edge' && options.fill !== 'black') {
    throw new Error(`augmentation option fill must be 'edge' or 'black', got ${String(options.fill)}`);
  }
}

/** Uniform in [-range, range]. */
function symmetric(random: () => number, range: number): number {
  return range === 0 ? 0 : (2 * random() - 1) * range;
}

export interface WarpTarget {
  out: Float32Array | Uint8Array;
  offset: number;
}

/**
 * Inverse-maps every output pixel through the affine transform and samples the source bilinearly. The source
 * coordinate is linear in the output column, so it advances by a constant step along each row.
 */
function warpImage(
  src: Uint8Array,
  srcOffset: number,
  size: number,
  params: AugmentParams,
  fill: 'edge' | 'black',
  target: WarpTarget,
): void {
  const { out, offset } = target;
  const centre = (size - 1) / 2;
  const cos = Math.cos(params.angle) / params.zoom;
  const sin = Math.sin(params.angle) / params.zoom;
  const gain = params.contrast;
  const bias = 127.5 - 127.5 * gain + params.brightness;
  const rounding = out instanceof Uint8Array;
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const dy = y - centre - params.shiftY;
    const dx0 = -centre - params.shiftX;
    // Source position of output pixel (0, y), and its change per output column.
    let sx = centre + cos * dx0 + sin * dy;
    let sy = centre - sin * dx0 + cos * dy;
    const row = offset + y * size;
    for (let x = 0; x < size; x++, sx += cos, sy -= sin) {
      let value: number;
      if (fill === 'black' && (sx < -0.5 || sy < -0.5 || sx > last + 0.5 || sy > last + 0.5)) {
        value = 0;
      } else {
        const cx = Math.max(0, Math.min(sx, last));
        const cy = Math.max(0, Math.min(sy, last));
        const x0 = Math.floor(cx);
        const y0 = Math.floor(cy);
        const fx = cx - x0;
        const fy = cy - y0;
        const x1 = x0 < last ? x0 + 1 : last;
        const y1 = y0 < last ? y0 + 1 : last;
        const top = srcOffset + y0 * size;
        const bottom = srcOffset + y1 * size;
        const a = src[top + x0] + (src[top + x1] - src[top + x0]) * fx;
        const b = src[bottom + x0] + (src[bottom + x1] - src[bottom + x0]) * fx;
        value = (a + (b - a) * fy) * gain + bias;
      }
      value = Math.max(0, Math.min(value, 255));
      out[row + x] = rounding ? Math.round(value) : value;
    }
  }
}

function isIdentity(p: AugmentParams): boolean {
  return (
    p.angle === 0 &&
    p.zoom === 1 &&
    p.shiftX === 0 &&
    p.shiftY === 0 &&
    p.brightness === 0 &&
    p.contrast === 1 &&
    !hasPhotometric(p)
  );
}

function hasPhotometric(p: AugmentParams): boolean {
  return p.gamma !== 1 || p.sharpness !== 0 || p.noise !== 0;
}

/** A standard normal number (Box-Muller) from uniform draws. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * The photometric steps after the warp, in place on one image: gamma curve, then unsharp mask (or blur) with a
 * 3x3 binomial kernel, then additive noise drawn from `random`. Values stay in [0, 255].
 */
function applyPhotometric(
  target: WarpTarget,
  size: number,
  params: AugmentParams,
  random: () => number,
): void {
  const { out, offset } = target;
  const area = size * size;
  const image = Float32Array.from(out.subarray(offset, offset + area));
  if (params.gamma !== 1) {
    for (let i = 0; i < area; i++) image[i] = 255 * (image[i] / 255) ** params.gamma;
  }
  if (params.sharpness !== 0) sharpen(image, size, params.sharpness);
  const rounding = out instanceof Uint8Array;
  for (let i = 0; i < area; i++) {
    const noisy = params.noise > 0 ? image[i] + params.noise * gaussian(random) : image[i];
    const value = Math.max(0, Math.min(noisy, 255));
    out[offset + i] = rounding ? Math.round(value) : value;
  }
}

/** In place: image + amount * (image - blur), blur = separable [1 2 1]/4 kernel with edge clamping. */
function sharpen(image: Float32Array, size: number, amount: number): void {
  const blurred = new Float32Array(image.length);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      const l = image[row + (x > 0 ? x - 1 : 0)];
      const r = image[row + (x < last ? x + 1 : last)];
      blurred[row + x] = (l + 2 * image[row + x] + r) / 4;
    }
  }
  for (let y = 0; y < size; y++) {
    const up = (y > 0 ? y - 1 : 0) * size;
    const down = (y < last ? y + 1 : last) * size;
    const row = y * size;
    for (let x = 0; x < size; x++) {
      const b = (blurred[up + x] + 2 * blurred[row + x] + blurred[down + x]) / 4;
      image[row + x] += amount * (image[row + x] - b);
    }
  }
}

/**
 * Applies fixed parameters to one image: the warp, then the photometric steps (noise drawn from `random`).
 * Training draws the parameters at random; validation shifts (src/data/shift.ts) fix them.
 */
export function applyAugmentParams(
  src: Uint8Array,
  srcOffset: number,
  size: number,
  params: AugmentParams,
  fill: 'edge' | 'black',
  target: WarpTarget,
  random: () => number,
): void {
  if (isIdentity(params)) {
    target.out.set(src.subarray(srcOffset, srcOffset + size * size), target.offset);
    return;
  }
  warpImage(src, srcOffset, size, params, fill, target);
  if (hasPhotometric(params)) applyPhotometric(target, size, params, random);
}

/** Creates an augmenter; every random choice derives from `seed`. */
export function createAugmenter(options: AugmentOptions & { seed: number }): Augmenter {
  const { seed, ...rest } = options;
  const settings: ResolvedAugmentOptions = { ...DEFAULT_AUGMENTATION, ...stripUndefined(rest) };
  checkOptions(settings);
  const stream = seededRandom(seed);

  const [zoomMin, zoomMax] = settings.zoomRange ?? [1 - settings.scale, 1 + settings.scale];
  const drawParams = (random: () => number, imageSize: number): AugmentParams => {
    const angle = (symmetric(random, settings.rotationDegrees) * Math.PI) / 180;
    // Without a zoom range the draw stays uniform in [1 - s, 1 + s], as the mild defaults always drew it.
    const zoom = settings.zoomRange
      ? Math.exp(Math.log(zoomMin) + random() * Math.log(zoomMax / zoomMin))
      : 1 + symmetric(random, settings.scale);
    const params: AugmentParams = {
      angle,
      zoom,
      shiftX: symmetric(random, settings.shift) * imageSize,
      shiftY: symmetric(random, settings.shift) * imageSize,
      brightness: symmetric(random, settings.brightness) * 255,
      contrast: 1 + symmetric(random, settings.contrast),
      gamma: 1,
      sharpness: 0,
      noise: 0,
    };
    // Photometric draws come last and only when enabled, so mild settings reproduce earlier runs exactly.
    if (settings.gamma !== 1) params.gamma = Math.exp(symmetric(random, Math.log(settings.gamma)));
    if (settings.sharpness !== 0) params.sharpness = symmetric(random, settings.sharpness);
    if (settings.noise !== 0) params.noise = random() * settings.noise;
    return params;
  };

  const augmentOne = (
    src: Uint8Array,
    srcOffset: number,
    size: number,
    random: () => number,
    target: WarpTarget,
  ): void => {
    applyAugmentParams(src, srcOffset, size, drawParams(random, size), settings.fill, target, random);
  };

  const augmentBatch: Augmenter['augmentBatch'] = ({ src, indices, imageSize, out, seed: batchSeed }) => {
    const area = imageSize * imageSize;
    if (out.length < indices.length * area) {
      throw new Error(`augmentBatch: output holds ${out.length} values, need ${indices.length * area}`);
    }
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k];
      if ((index + 1) * area > src.length || index < 0) {
        throw new Error(
          `augmentBatch: image index ${index} is outside the source (${src.length / area} images)`,
        );
      }
      const random = batchSeed === undefined ? stream : seededRandom(mixSeeds(mixSeeds(seed, batchSeed), k));
      augmentOne(src, index * area, imageSize, random, { out, offset: k * area });
    }
  };

  const inPlace: InPlaceBatchAugment = ({ pixels, count, imageSize, seed: batchSeed, first = 0 }) => {
    const area = imageSize * imageSize;
    const scratch = new Uint8Array(area);
    for (let k = 0; k < count; k++) {
      scratch.set(pixels.subarray(k * area, (k + 1) * area));
      const random = seededRandom(mixSeeds(mixSeeds(seed, batchSeed), first + k));
      augmentOne(scratch, 0, imageSize, random, { out: pixels, offset: k * area });
    }
  };

  return { options: settings, augmentBatch, inPlace, drawParams };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
