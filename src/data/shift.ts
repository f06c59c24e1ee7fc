/**
 * Validation under acquisition shift: held-out images re-rendered as another hospital's system or protocol might
 * show them (tighter or looser framing, other contrast curves, edge enhancement or blur, noise). A random
 * patient split of one hospital's images saturates (ROC-AUC ~0.998) and hides how a model reacts to images it
 * has never seen; the same images under these fixed, documented shifts show it (docs/model.md has the
 * measurements). Each shift is a fixed set of augmentation parameters, so the suite reproduces exactly.
 */

import { seededRandom } from '../core/random.ts';
import { type AugmentParams, applyAugmentParams } from './augment.ts';

/** One named re-rendering of the validation images. */
export interface ValidationShift {
  name: string;
  /** What it mimics, for reports and the model card. */
  description: string;
  params: Partial<AugmentParams>;
}

/** The parameters that leave an image as it is; a shift (or a test) overrides the ones it changes. */
export const IDENTITY: AugmentParams = {
  angle: 0,
  zoom: 1,
  shiftX: 0,
  shiftY: 0,
  brightness: 0,
  contrast: 1,
  gamma: 1,
  sharpness: 0,
  noise: 0,
};

/**
 * The shift suite. Zoom 1.18 shows the centre 85% of the film, 1.33 the centre 75% (a tighter collimation, or a
 * child filling more of the detector); 0.85 a looser one. Photometric shifts stay within what processing
 * differences between X-ray systems produce.
 */
export const SHIFT_SUITE: readonly ValidationShift[] = [
  { name: 'zoom-in-15', description: 'tighter framing: centre 85% of the film', params: { zoom: 1 / 0.85 } },
  { name: 'zoom-in-25', description: 'tight framing: centre 75% of the film', params: { zoom: 1 / 0.75 } },
  { name: 'zoom-out-15', description: 'looser framing: film shrunk to 85%', params: { zoom: 0.85 } },
  { name: 'low-contrast', description: 'contrast reduced by 30%', params: { contrast: 0.7 } },
  { name: 'gamma-0.7', description: 'brighter mid-tones (gamma 0.7)', params: { gamma: 0.7 } },
  { name: 'gamma-1.4', description: 'darker mid-tones (gamma 1.4)', params: { gamma: 1.4 } },
  { name: 'blur', description: 'softer detail (3x3 blur)', params: { sharpness: -1 } },
  { name: 'sharpen', description: 'edge enhancement (unsharp mask)', params: { sharpness: 1.5 } },
  { name: 'noise', description: 'quantum noise (σ = 8 grey levels)', params: { noise: 8 } },
];

/** Looks a shift up by name; an unknown name fails with the list of known ones. */
export function shiftByName(name: string): ValidationShift {
  const found = SHIFT_SUITE.find((s) => s.name === name);
  if (!found)
    throw new Error(
      `unknown validation shift "${name}"; known: ${SHIFT_SUITE.map((s) => s.name).join(', ')}`,
    );
  return found;
}

/**
 * Returns a copy of `pixels` (packed imageSize² grey images) with `shift` applied to every image. Noise is drawn
 * from a generator seeded with `seed`, so the same inputs always give the same bytes.
 */
export function applyShift(
  pixels: Uint8Array,
  imageSize: number,
  shift: ValidationShift,
  seed = 0,
): Uint8Array {
  const area = imageSize * imageSize;
  const count = pixels.length / area;
  const out = new Uint8Array(pixels.length);
  const params: AugmentParams = { ...IDENTITY, ...shift.params };
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    applyAugmentParams(pixels, i * area, imageSize, params, 'edge', { out, offset: i * area }, random);
  }
  return out;
}
