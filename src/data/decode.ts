/**
 * Decoding any supported image file to 8-bit grey-scale: at full size, resized to the model's input, or as a
 * preview at the original aspect ratio (the picture a heatmap is drawn over).
 *
 * One pixel rule for every container (JPEG, PNG, WebP, TIFF, DICOM), so the same picture gives the same grey
 * pixels whatever file it arrives in: embedded colour profiles are ignored, colour becomes grey by BT.601 luma
 * (src/data/colour.ts), 8-bit grey is kept as it is, and deeper data is windowed to 8 bits (DICOM by its VOI
 * window when it has one, otherwise by its own 0.5–99.5 percentile range). Each decoder recognises its format
 * from the bytes, never from the extension. JPEG, PNG, WebP and TIFF go through sharp (./decoders/raster.ts),
 * which can shrink JPEGs while decoding; other formats (DICOM) come from the decoder list in ./decoders/index.ts
 * and are resized from their full-size grey pixels.
 */
import sharp from 'sharp';
import type { GrayImage } from '../core/types.ts';
import { DecodeError } from './decode-error.ts';
import type { DecodedImage, DecodeOptions, DicomAttributes } from './decoders/decoder.ts';
import { PLUGIN_DECODERS } from './decoders/index.ts';
import {
  fitGray,
  fitWithin,
  RASTER_FORMATS,
  type RasterFit,
  readRaster,
  resizeGray,
} from './decoders/raster.ts';

export { fitWithin, resizeGray };

/** Decoded pixel budget: anything larger is refused before decoding (decompression bombs). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** What the decoders read, for messages and help texts. */
export const SUPPORTED_FORMATS_TEXT = 'JPEG, PNG, WebP, TIFF or DICOM';

/** The format name for these bytes, or null when no decoder recognises them. */
export function sniffFormat(bytes: Uint8Array): string | null {
  for (const d of PLUGIN_DECODERS) if (d.sniff(bytes)) return d.name;
  for (const f of RASTER_FORMATS) if (f.sniff(bytes)) return f.name;
  return null;
}

function resolveOptions(options: DecodeOptions): Required<DecodeOptions> {
  return { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
}

function unsupported(bytes: Uint8Array): DecodeError {
  if (bytes.length === 0) return new DecodeError('empty', 'file is empty (0 bytes)');
  return new DecodeError('unsupported', `not a supported image format (expected ${SUPPORTED_FORMATS_TEXT})`);
}

/** A decoded picture sized as `fit` asks, with what the decoder learnt about it. */
async function decodeFitted(
  bytes: Uint8Array,
  fit: RasterFit,
  options: DecodeOptions,
): Promise<DecodedImage & { original: { width: number; height: number } }> {
  const opts = resolveOptions(options);
  const format = sniffFormat(bytes);
  if (format === null) throw unsupported(bytes);
  const plugin = PLUGIN_DECODERS.find((d) => d.name === format);
  if (!plugin) {
    const image = await readRaster(bytes, format, { maxPixels: opts.maxPixels, fit });
    return { ...image, format, warnings: [] };
  }
  const full = await plugin.decode(bytes, opts);
  const original = { width: full.width, height: full.height };
  return { ...full, ...(await fitGray(full, fit)), original };
}

/** Decodes to full-size 8-bit grey-scale. Throws DecodeError. */
export async function decodeGray(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const { original: _, ...image } = await decodeFitted(bytes, { kind: 'full' }, options);
  return image;
}

/** Model-ready pixels and what else the input gate needs to know about the file. */
export interface ResizedImage {
  /** size² grey bytes, row-major. */
  pixels: Uint8Array;
  original: { width: number; height: number };
  format: string;
  warnings: string[];
  /** Colourfulness before grey conversion (0 = grey; src/data/colour.ts). */
  colourfulness: number;
  dicom?: DicomAttributes;
}

/**
 * Decodes and resizes to `size` x `size` grey pixels (aspect ratio not preserved: the training data was
 * stretched the same way). Returns the resized pixels and the original dimensions.
 */
export async function decodeResized(
  bytes: Uint8Array,
  size: number,
  options: DecodeOptions = {},
): Promise<ResizedImage> {
  const image = await decodeFitted(bytes, { kind: 'square', size }, options);
  return {
    pixels: image.data,
    original: image.original,
    format: image.format,
    warnings: image.warnings,
    colourfulness: image.colourfulness,
    ...(image.dicom ? { dicom: image.dicom } : {}),
  };
}

/** Encodes grey pixels as PNG (for thumbnails, sample grids and reports). */
export async function encodeGrayPng(image: GrayImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .png()
    .toBuffer();
}

export interface PreviewOptions {
  /** Longest side of the result in pixels; smaller images keep their size. */
  maxSide: number;
  maxPixels?: number;
}

/**
 * The grey image at its own aspect ratio, no larger than `maxSide` (heatmap overlays, browser previews), by the
 * same pixel rule as the model's input. JPEGs are shrunk while decoding; DICOM is decoded in full, then resized.
 */
export async function decodePreview(bytes: Uint8Array, options: PreviewOptions): Promise<GrayImage> {
  const image = await decodeFitted(
    bytes,
    { kind: 'inside', maxSide: options.maxSide },
    { maxPixels: options.maxPixels },
  );
  return { width: image.width, height: image.height, data: image.data };
}
