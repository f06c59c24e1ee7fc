/**
 * Training-time augmentation on packed uint8 images: a small random affine warp (rotation, zoom, shift) and a
 * random contrast / brightness / gamma change, both mild enough to keep a chest X-ray plausible. No flips: the
 * heart sits on the left, and mirrored films do not occur in practice. Each image's draws depend only on the batch
 * seed and its position, so augmentation is reproducible and a resumed run sees the same images.
 */
import type { BatchAugment } from './batches.ts';
import { createRandom, deriveSeed, type RandomSource } from './random.ts';

/** Ranges of the random transforms (uniform draws). */
export interface AugmentRanges {
  /** Max rotation in degrees, either way. */
  rotationDegrees: number;
  /** Max relative zoom, either way (0.1 = 90%..110%). */
  zoom: number;
  /** Max shift as a fraction of the side, per axis. */
  shift: number;
  /** Max relative contrast change. */
  contrast: number;
  /** Max brightness change in grey levels. */
  brightness: number;
  /** Max relative gamma change. */
  gamma: number;
}

export const DEFAULT_AUGMENT_RANGES: AugmentRanges = {
  rotationDegrees: 8,
  zoom: 0.1,
  shift: 0.06,
  contrast: 0.15,
  brightness: 15,
  gamma: 0.15,
};

/** For metadata and the model card. */
export function describeAugmentation(enabled: boolean, r: AugmentRanges = DEFAULT_AUGMENT_RANGES): string {
  if (!enabled) return 'none';
  return (
    `random rotation ±${r.rotationDegrees}°, zoom ±${r.zoom * 100}%, shift ±${r.shift * 100}%, ` +
    `contrast ±${r.contrast * 100}%, brightness ±${r.brightness} grey levels, gamma ±${r.gamma * 100}%; no flips`
  );
}

function uniform(random: RandomSource, maxAbs: number): number {
  return (random() * 2 - 1) * maxAbs;
}

/** A 256-entry lookup table for one random contrast / brightness / gamma change. */
function intensityTable(random: RandomSource, r: AugmentRanges): Uint8Array {
  const contrast = 1 + uniform(random, r.contrast);
  const brightness = uniform(random, r.brightness);
  const gamma = 1 + uniform(random, r.gamma);
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const g = 255 * (v / 255) ** gamma;
    table[v] = Math.max(0, Math.min(255, Math.round((g - 127.5) * contrast + 127.5 + brightness)));
  }
  return table;
}

/**
 * Warps `src` into `dst` (both size x size) by a random rotation/zoom/shift about the centre, sampling
 * bilinearly; points outside the image take the nearest edge pixel, so no black corners appear.
 */
function warpInto(
  src: Uint8Array,
  dst: Uint8Array,
  size: number,
  random: RandomSource,
  r: AugmentRanges,
  table: Uint8Array,
): void {
  const angle = (uniform(random, r.rotationDegrees) * Math.PI) / 180;
  const scale = 1 + uniform(random, r.zoom);
  const shiftX = uniform(random, r.shift) * size;
  const shiftY = uniform(random, r.shift) * size;
  // Inverse map: output pixel -> source position.
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const centre = (size - 1) / 2;
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const dy = y - centre - shiftY;
    for (let x = 0; x < size; x++) {
      const dx = x - centre - shiftX;
      let sx = cos * dx + sin * dy + centre;
      let sy = -sin * dx + cos * dy + centre;
      sx = Math.min(Math.max(sx, 0), last);
      sy = Math.min(Math.max(sy, 0), last);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = x0 < last ? x0 + 1 : last;
      const y1 = y0 < last ? y0 + 1 : last;
      const fx = sx - x0;
      const fy = sy - y0;
      const top = src[y0 * size + x0] * (1 - fx) + src[y0 * size + x1] * fx;
      const bottom = src[y1 * size + x0] * (1 - fx) + src[y1 * size + x1] * fx;
      dst[y * size + x] = table[Math.round(top * (1 - fy) + bottom * fy)];
    }
  }
}

/** The augmentation `runTraining` applies to each training batch. */
export function trainingAugment(ranges: AugmentRanges = DEFAULT_AUGMENT_RANGES): BatchAugment {
  let scratch = new Uint8Array(0);
  return ({ pixels, count, imageSize, seed }) => {
    const area = imageSize * imageSize;
    if (scratch.length !== area) scratch = new Uint8Array(area);
    for (let k = 0; k < count; k++) {
      const random = createRandom(deriveSeed(seed, k));
      const image = pixels.subarray(k * area, (k + 1) * area);
      scratch.set(image);
      warpInto(scratch, image, imageSize, random, ranges, intensityTable(random, ranges));
    }
  };
}
