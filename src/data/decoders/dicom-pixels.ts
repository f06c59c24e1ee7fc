/**
 * From DICOM stored pixel values to an 8-bit grey image, in the order the standard's display pipeline uses
 * (PS3.3 C.11): stored value → Modality LUT (Rescale Slope/Intercept) → VOI LUT (window) → presentation
 * (MONOCHROME1 is inverted so that bright always means dense, as in MONOCHROME2 and the training data).
 */

import { type ColourfulnessMeter, luma } from '../colour.ts';

/** How one frame of native (uncompressed) pixel data is laid out. */
export interface PixelLayout {
  rows: number;
  columns: number;
  /** 1 (grey) or 3 (colour). */
  samplesPerPixel: number;
  /** 8, 16 or 32. */
  bitsAllocated: number;
  /** Bits actually used, <= bitsAllocated (12 is common in 16-bit words). */
  bitsStored: number;
  /** Position of the most significant stored bit; usually bitsStored - 1. */
  highBit: number;
  /** 0 = unsigned, 1 = two's complement. */
  pixelRepresentation: 0 | 1;
  /** For colour: 0 = RGBRGB..., 1 = RRR...GGG...BBB... */
  planarConfiguration: 0 | 1;
  littleEndian: boolean;
  /** RGB colour is converted to luminance; YBR keeps its Y (luma) sample. */
  photometric: string;
}

/** A DICOM VOI LUT window (PS3.3 C.11.2.1.2). */
export interface VoiWindow {
  center: number;
  width: number;
  /** LINEAR (default), LINEAR_EXACT or SIGMOID. */
  function: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
}

export interface DisplaySettings {
  rescaleSlope: number;
  rescaleIntercept: number;
  /** From Window Center/Width when present; otherwise chosen from the data (see toDisplayPixels). */
  window?: VoiWindow;
  invert: boolean;
  bitsStored: number;
  signed: boolean;
}

/** Fraction of pixels clipped at each end by the automatic window for data deeper than 8 bits. */
export const PERCENTILE_CLIP = 0.005;

/** Bytes one native frame occupies. */
export function frameByteLength(layout: PixelLayout): number {
  return layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
}

/**
 * Reads one native frame's stored values (sign-extended, high bits masked); colour becomes luminance (BT.601, see
 * src/data/colour.ts) and, when a `meter` is given, its colourfulness is measured on the way.
 */
export function readNativeFrame(
  bytes: Uint8Array,
  offset: number,
  layout: PixelLayout,
  meter?: ColourfulnessMeter,
): Float32Array {
  const pixels = layout.rows * layout.columns;
  const samples = pixels * layout.samplesPerPixel;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, frameByteLength(layout));
  const read = sampleReader(view, layout);
  if (layout.samplesPerPixel === 1) {
    const out = new Float32Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = read(i);
    return out;
  }
  // Planar data keeps each colour in its own block; interleaved data keeps the samples of a pixel together.
  const index = (pixel: number, sample: number) =>
    layout.planarConfiguration === 1 ? sample * pixels + pixel : pixel * layout.samplesPerPixel + sample;
  const out = new Float32Array(pixels);
  const isRgb = layout.photometric === 'RGB';
  const half = 2 ** (layout.bitsStored - 1);
  for (let p = 0; p < pixels && index(p, 2) < samples; p++) {
    if (!isRgb) {
      // YBR keeps its Y sample: BT.601 luma already, the weights used for RGB below.
      const y = read(index(p, 0));
      out[p] = y;
      if (meter) {
        const cb = read(index(p, 1)) - half;
        const cr = read(index(p, 2)) - half;
        meter.add(y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb);
      }
      continue;
    }
    const r = read(index(p, 0));
    const g = read(index(p, 1));
    const b = read(index(p, 2));
    out[p] = luma(r, g, b);
    meter?.add(r, g, b);
  }
  return out;
}

/** A function returning stored sample `i` as a number. */
function sampleReader(view: DataView, layout: PixelLayout): (i: number) => number {
  const { bitsAllocated, bitsStored, highBit, pixelRepresentation, littleEndian } = layout;
  const shift = Math.max(0, highBit + 1 - bitsStored);
  const range = 2 ** bitsStored;
  const signBit = 2 ** (bitsStored - 1);
  const raw =
    bitsAllocated === 8
      ? (i: number) => view.getUint8(i)
      : bitsAllocated === 16
        ? (i: number) => view.getUint16(i * 2, littleEndian)
        : (i: number) => view.getUint32(i * 4, littleEndian);
  return (i) => {
    // Arithmetic instead of bit operators: they work on signed 32-bit integers and would break 32-bit data.
    let value = Math.floor(raw(i) / 2 ** shift) % range;
    if (pixelRepresentation === 1 && value >= signBit) value -= range;
    return value;
  };
}

/** Applies Rescale Slope/Intercept in place. */
function applyModalityLut(values: Float32Array, slope: number, intercept: number): void {
  if (slope === 1 && intercept === 0) return;
  for (let i = 0; i < values.length; i++) values[i] = values[i] * slope + intercept;
}

/** Maps a value to [0, 1] through a DICOM window, following the standard's formulas. */
function windowFunction(window: VoiWindow): (x: number) => number {
  const { center: c, width: w } = window;
  if (window.function === 'SIGMOID') return (x) => 1 / (1 + Math.exp((-4 * (x - c)) / w));
  if (window.function === 'LINEAR_EXACT' || w <= 1) {
    const low = c - w / 2;
    const high = c + w / 2;
    return (x) => (x <= low ? 0 : x > high ? 1 : (x - c) / Math.max(w, 1e-6) + 0.5);
  }
  const low = c - 0.5 - (w - 1) / 2;
  const high = c - 0.5 + (w - 1) / 2;
  return (x) => (x <= low ? 0 : x > high ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5);
}

/** A linear window from `low` to `high` (values outside are clipped). */
function rangeWindow(low: number, high: number): (x: number) => number {
  const span = high - low;
  if (!(span > 0)) return () => 0;
  return (x) => Math.min(1, Math.max(0, (x - low) / span));
}

/** The values below which `clip` and above which `clip` of the pixels lie, from a 4096-bin histogram. */
export function percentileRange(values: Float32Array, clip: number): { low: number; high: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return { low: min, high: max };
  const bins = 4096;
  const histogram = new Uint32Array(bins);
  const scale = (bins - 1) / (max - min);
  for (const v of values) histogram[Math.round((v - min) * scale)]++;
  const target = values.length * clip;
  let low = 0;
  for (let seen = 0; low < bins - 1 && seen + histogram[low] <= target; low++) seen += histogram[low];
  let high = bins - 1;
  for (let seen = 0; high > 0 && seen + histogram[high] <= target; high--) seen += histogram[high];
  if (high <= low) return { low: min, high: max };
  return { low: min + low / scale, high: min + high / scale };
}

/**
 * Stored values → 8-bit display pixels. Without a window in the file: data of 8 bits or fewer is shown over its
 * whole stored range (as a JPEG of it would look); deeper data (e.g. 12 bits in 16) gets a robust window that
 * clips 0.5% of pixels at each end, since its useful range is only a small part of what the bits can hold.
 */
export function toDisplayPixels(stored: Float32Array, settings: DisplaySettings): Uint8Array {
  const values = stored;
  applyModalityLut(values, settings.rescaleSlope, settings.rescaleIntercept);
  let map: (x: number) => number;
  if (settings.window) {
    map = windowFunction(settings.window);
  } else if (settings.bitsStored <= 8) {
    const lowest = settings.signed ? -(2 ** (settings.bitsStored - 1)) : 0;
    const highest = lowest + 2 ** settings.bitsStored - 1;
    const a = lowest * settings.rescaleSlope + settings.rescaleIntercept;
    const b = highest * settings.rescaleSlope + settings.rescaleIntercept;
    // min/max: a negative slope flips the stored range, and bright must stay = high rescaled value.
    map = rangeWindow(Math.min(a, b), Math.max(a, b));
  } else {
    const { low, high } = percentileRange(values, PERCENTILE_CLIP);
    map = rangeWindow(low, high);
  }
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const level = Math.round(map(values[i]) * 255);
    out[i] = settings.invert ? 255 - level : level;
  }
  return out;
}
