/**
 * The image-appearance block of the learned check's feature vector: the exposure and framing features of
 * src/data/appearance.ts (mean, spread, percentiles, sharpness, border, centre, dark fraction) and a coarse
 * layout, the mean grey level of each cell of a 6 × 6 grid. A chest X-ray has a typical layout (bright
 * mediastinum and shoulders, dark lungs either side, a frame); a photo of the moon, a page of text or a
 * gradient does not, even when the classifier's features happen to look ordinary. Browser-safe.
 */
import { APPEARANCE_FEATURES, appearanceFeatures } from '../data/appearance.ts';

/** Cells per side of the layout grid. */
export const LAYOUT_GRID = 6;

/** Number of values `gateAppearance` returns per image. */
export const GATE_APPEARANCE_SIZE = APPEARANCE_FEATURES.length + LAYOUT_GRID * LAYOUT_GRID;

/** Mean grey level of each cell of a LAYOUT_GRID² grid over a size² image at `offset`, row by row. */
export function layoutFeatures(pixels: Uint8Array, offset: number, size: number): Float64Array {
  const out = new Float64Array(LAYOUT_GRID * LAYOUT_GRID);
  const counts = new Float64Array(LAYOUT_GRID * LAYOUT_GRID);
  for (let y = 0; y < size; y++) {
    const row = Math.min(LAYOUT_GRID - 1, Math.floor((y * LAYOUT_GRID) / size));
    for (let x = 0; x < size; x++) {
      const cell = row * LAYOUT_GRID + Math.min(LAYOUT_GRID - 1, Math.floor((x * LAYOUT_GRID) / size));
      out[cell] += pixels[offset + y * size + x];
      counts[cell]++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= Math.max(1, counts[i]);
  return out;
}

/** The appearance block (GATE_APPEARANCE_SIZE values) of each size² image in `pixels`, back to back. */
export function gateAppearance(pixels: Uint8Array, size: number): Float64Array {
  const area = size * size;
  const n = Math.floor(pixels.length / area);
  const out = new Float64Array(n * GATE_APPEARANCE_SIZE);
  for (let i = 0; i < n; i++) {
    out.set(appearanceFeatures(pixels, i * area, size), i * GATE_APPEARANCE_SIZE);
    out.set(layoutFeatures(pixels, i * area, size), i * GATE_APPEARANCE_SIZE + APPEARANCE_FEATURES.length);
  }
  return out;
}

/** Joins n rows of penultimate features (width `featureSize`) with their appearance blocks, row by row. */
export function joinFeatures(
  features: ArrayLike<number>,
  featureSize: number,
  appearance: Float64Array,
  n: number,
): Float64Array {
  const width = featureSize + GATE_APPEARANCE_SIZE;
  const out = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < featureSize; j++) out[i * width + j] = features[i * featureSize + j];
    out.set(
      appearance.subarray(i * GATE_APPEARANCE_SIZE, (i + 1) * GATE_APPEARANCE_SIZE),
      i * width + featureSize,
    );
  }
  return out;
}
