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
 * or, as the training loop's in-place `BatchAugment` hook (deterministic in the batch seed alone):
 *   new BatchBuilder(set, size, batchSize, weights, augmenter.inPlace);
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
}

/** The batch hook of src/train/batches.ts: augments `count` packed images in place. */
export type InPlaceBatchAugment = (batch: {
  pixels: Uint8Array;
  count: number;
  imageSize: number;
  seed: number;
}) => void;

export interface Augmenter {
  readonly options: Required<AugmentOptions>;
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

/** The augmentation `createAugmenter` applies unless told otherwise (and what `cxr train` uses). */
export const DEFAULT_AUGMENTATION: Readonly<Required<AugmentOptions>> = {
  rotationDegrees: 10,
  scale: 0.1,
  shift: 0.1,
  brightness: 0.1,
  contrast: 0.1,
  fill: 'edge',
};

function checkOptions(options: Required<AugmentOptions>): void {
  for (const key of ['rotationDegrees', 'scale', 'shift', 'brightness', 'contrast'] as const) {
    const value = options[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`augmentation option ${key} must be a finite number >= 0, got ${value}`);
    }
  }
  if (options.scale >= 1) throw new Error(`augmentation option scale must be < 1, got ${options.scale}`);
  if (options.fill !== 'edge' && options.fill !== 'black') {
    throw new Error(`augmentation option fill must be 'edge' or 'black', got ${String(options.fill)}`);
  }
}

/** Uniform in [-range, range]. */
function symmetric(random: () => number, range: number): number {
  return range === 0 ? 0 : (2 * random() - 1) * range;
}

interface WarpTarget {
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
    p.contrast === 1
  );
}

/** Creates an augmenter; every random choice derives from `seed`. */
export function createAugmenter(options: AugmentOptions & { seed: number }): Augmenter {
  const { seed, ...rest } = options;
  const settings: Required<AugmentOptions> = { ...DEFAULT_AUGMENTATION, ...stripUndefined(rest) };
  checkOptions(settings);
  const stream = seededRandom(seed);

  const drawParams = (random: () => number, imageSize: number): AugmentParams => ({
    angle: (symmetric(random, settings.rotationDegrees) * Math.PI) / 180,
    zoom: 1 + symmetric(random, settings.scale),
    shiftX: symmetric(random, settings.shift) * imageSize,
    shiftY: symmetric(random, settings.shift) * imageSize,
    brightness: symmetric(random, settings.brightness) * 255,
    contrast: 1 + symmetric(random, settings.contrast),
  });

  const augmentOne = (
    src: Uint8Array,
    srcOffset: number,
    size: number,
    random: () => number,
    target: WarpTarget,
  ): void => {
    const params = drawParams(random, size);
    if (isIdentity(params)) {
      const area = size * size;
      target.out.set(src.subarray(srcOffset, srcOffset + area), target.offset);
      return;
    }
    warpImage(src, srcOffset, size, params, settings.fill, target);
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

  const inPlace: InPlaceBatchAugment = ({ pixels, count, imageSize, seed: batchSeed }) => {
    const area = imageSize * imageSize;
    const scratch = new Uint8Array(area);
    for (let k = 0; k < count; k++) {
      scratch.set(pixels.subarray(k * area, (k + 1) * area));
      const random = seededRandom(mixSeeds(mixSeeds(seed, batchSeed), k));
      augmentOne(scratch, 0, imageSize, random, { out: pixels, offset: k * area });
    }
  };

  return { options: settings, augmentBatch, inPlace, drawParams };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
