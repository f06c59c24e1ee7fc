/**
 * The input gate's cheap checks: rules on what the decoder already knows (size, colour, DICOM attributes) and on
 * the model-size grey pixels, run before the learned check. Each returns a plain-language reason to refuse the
 * image, or null. Browser-safe (no Node imports). The limits are documented in docs/input-gate.md.
 */
import type { DicomAttributes } from '../data/decoders/decoder.ts';

/** What the gate knows about one input besides its model-size pixels. */
export interface ImageFacts {
  /** Size of the picture in the file. */
  original: { width: number; height: number };
  /** Colourfulness before grey conversion (src/data/colour.ts). */
  colourfulness: number;
  dicom?: DicomAttributes;
}

/** Which check refused an input. */
export type GateCheck = 'size' | 'aspect' | 'contrast' | 'colour' | 'dicom' | 'learned';

export interface CheckFailure {
  check: GateCheck;
  reason: string;
}

/** The prefix of every appearance-based reason (the words the worklist and the app show). */
export const NOT_A_CHEST_XRAY = 'does not look like a chest X-ray';

/**
 * Shortest side below which an image cannot be a readable chest X-ray (an icon, a 1 × 1 pixel, a thumbnail
 * strip). Deliberately lenient: the training copies are 224 × 224 and originals ~1000 px and more, and a small
 * image that passes here still meets the learned check.
 */
export const MIN_SIDE = 48;
/** Longest side over shortest side: radiographs are 1:1 to about 2:1 (the dataset's widest is ~2.3:1). */
export const MAX_ASPECT = 3.5;
/**
 * Grey-level spread (2nd to 98th percentile of the model-size pixels) below which an image is "almost uniform":
 * every training image spans more than 100 levels; all-black, all-white and flat images span almost none.
 */
export const MIN_SPREAD = 24;
/**
 * Colourfulness (Hasler-Süsstrunk M, 0–255 scale) above which an image is a colour picture. The training images
 * (RGB JPEGs of grey films) measure below 1; a slightly tinted scan stays under this; photos are 15–100.
 */
export const MAX_COLOURFULNESS = 10;

/** DICOM Modality values of radiographs (CR, DX) and of converted images that carry no modality (OT). */
export const ACCEPTED_MODALITIES: readonly string[] = ['CR', 'DX', 'DR', 'RG', 'OT'];
/** Body Part Examined values that mean the chest. */
const CHEST_PARTS = /CHEST|THORAX|LUNG|TORSO/;
/** Frontal views; laterals (LL, RL, LAT...) and others are refused. */
export const FRONTAL_VIEWS: readonly string[] = ['PA', 'AP'];

/** The spread between the 2nd and 98th percentile of grey levels of one image. */
export function greySpread(pixels: Uint8Array, offset = 0, length = pixels.length - offset): number {
  const histogram = new Uint32Array(256);
  for (let i = 0; i < length; i++) histogram[pixels[offset + i]]++;
  const level = (q: number) => {
    let seen = 0;
    for (let v = 0; v < 256; v++) {
      seen += histogram[v];
      if (seen > q * length) return v;
    }
    return 255;
  };
  return level(0.98) - level(0.02);
}

function checkSize({ original }: ImageFacts): CheckFailure | null {
  const side = Math.min(original.width, original.height);
  if (side >= MIN_SIDE) return null;
  return {
    check: 'size',
    reason: `image too small to be a chest X-ray (${original.width} × ${original.height} pixels; at least ${MIN_SIDE} on the shorter side)`,
  };
}

function checkAspect({ original }: ImageFacts): CheckFailure | null {
  const aspect =
    Math.max(original.width, original.height) / Math.max(1, Math.min(original.width, original.height));
  if (aspect <= MAX_ASPECT) return null;
  return {
    check: 'aspect',
    reason: `${NOT_A_CHEST_XRAY}: extreme aspect ratio (${aspect.toFixed(1)}:1)`,
  };
}

function checkColour({ colourfulness }: ImageFacts): CheckFailure | null {
  if (!(colourfulness > MAX_COLOURFULNESS)) return null;
  return {
    check: 'colour',
    reason: `${NOT_A_CHEST_XRAY}: colour picture (colourfulness ${colourfulness.toFixed(0)}, X-rays are grey)`,
  };
}

function checkDicom({ dicom }: ImageFacts): CheckFailure | null {
  if (!dicom) return null;
  if (dicom.modality && !ACCEPTED_MODALITIES.includes(dicom.modality)) {
    return {
      check: 'dicom',
      reason: `DICOM Modality is ${dicom.modality}, not a radiograph (${ACCEPTED_MODALITIES.slice(0, 2).join(' or ')})`,
    };
  }
  if (dicom.bodyPart && !CHEST_PARTS.test(dicom.bodyPart)) {
    return { check: 'dicom', reason: `DICOM Body Part Examined is ${dicom.bodyPart}, not the chest` };
  }
  if (dicom.viewPosition && !FRONTAL_VIEWS.includes(dicom.viewPosition)) {
    return {
      check: 'dicom',
      reason: `DICOM View Position is ${dicom.viewPosition}: the model reads frontal (PA or AP) views only`,
    };
  }
  return null;
}

function checkContrast(pixels: Uint8Array): CheckFailure | null {
  const spread = greySpread(pixels);
  if (spread >= MIN_SPREAD) return null;
  return {
    check: 'contrast',
    reason: `${NOT_A_CHEST_XRAY}: almost uniform image (grey levels span ${spread} of 255)`,
  };
}

/**
 * The first cheap check an input fails, or null when it passes them all. `pixels` are the model-size grey
 * pixels of this one image.
 */
export function cheapChecks(facts: ImageFacts, pixels: Uint8Array): CheckFailure | null {
  return (
    checkSize(facts) ?? checkAspect(facts) ?? checkDicom(facts) ?? checkColour(facts) ?? checkContrast(pixels)
  );
}
