/**
 * Decoding any supported image file to 8-bit grey-scale: at full size, resized to the model's input, or as a
 * preview at the original aspect ratio (the picture a heatmap is drawn over).
 *
 * Each decoder recognises its format from the bytes (never from the extension alone) and returns grey pixels.
 * JPEG and PNG go straight through sharp (libvips), which can shrink JPEGs while decoding; other formats (DICOM)
 * come from the decoder list in ./decoders/index.ts and are resized from their raw pixels.
 */
import sharp from 'sharp';
import type { GrayImage } from '../core/types.ts';
import { DecodeError } from './decode-error.ts';
import type { DecodedImage, DecodeOptions } from './decoders/decoder.ts';
import { PLUGIN_DECODERS } from './decoders/index.ts';
import { sharpDecodeError } from './sharp-error.ts';

/** Decoded pixel budget: anything larger is refused before decoding (decompression bombs). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Formats sharp reads directly; they take the fast path in `decodeResized`. */
const SHARP_FORMATS: { name: string; magic: number[] }[] = [
  { name: 'jpeg', magic: JPEG_MAGIC },
  { name: 'png', magic: PNG_MAGIC },
];

/** The format name for these bytes, or null when no decoder recognises them. */
export function sniffFormat(bytes: Uint8Array): string | null {
  for (const d of PLUGIN_DECODERS) if (d.sniff(bytes)) return d.name;
  for (const f of SHARP_FORMATS) if (startsWith(bytes, f.magic)) return f.name;
  return null;
}

function resolveOptions(options: DecodeOptions): Required<DecodeOptions> {
  return { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
}

function unsupported(bytes: Uint8Array): DecodeError {
  if (bytes.length === 0) return new DecodeError('empty', 'file is empty (0 bytes)');
  return new DecodeError('unsupported', 'not a supported image format (expected JPEG, PNG or DICOM)');
}

function sharpInput(bytes: Uint8Array, maxPixels: number) {
  // failOn 'error' rejects truncated and damaged files instead of returning half-grey images.
  return sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
}

/** Decodes to full-size 8-bit grey-scale. Throws DecodeError. */
export async function decodeGray(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const opts = resolveOptions(options);
  const format = sniffFormat(bytes);
  if (format === null) throw unsupported(bytes);
  const plugin = PLUGIN_DECODERS.find((d) => d.name === format);
  if (plugin) return plugin.decode(bytes, opts);
  try {
    const { data, info } = await sharpInput(bytes, opts.maxPixels)
      .removeAlpha()
      .toColourspace('b-w')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: toGray(data, info.channels),
      format,
      warnings: [],
    };
  } catch (err) {
    throw sharpDecodeError(err, bytes, format);
  }
}

/** Keeps the first channel when libvips returns more than one (it should not after 'b-w'). */
function toGray(data: Buffer, channels: number): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (channels === 1) return bytes;
  const out = new Uint8Array(bytes.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = bytes[i * channels];
  return out;
}

/**
 * Decodes and resizes to `size` x `size` grey pixels (aspect ratio not preserved: the training data was
 * stretched the same way). Returns the resized pixels and the original dimensions.
 */
export async function decodeResized(
  bytes: Uint8Array,
  size: number,
  options: DecodeOptions = {},
): Promise<{
  pixels: Uint8Array;
  original: { width: number; height: number };
  format: string;
  warnings: string[];
}> {
  const opts = resolveOptions(options);
  const format = sniffFormat(bytes);
  if (format === null) throw unsupported(bytes);
  if (!PLUGIN_DECODERS.some((d) => d.name === format)) {
    try {
      const image = sharpInput(bytes, opts.maxPixels);
      const meta = await image.metadata();
      const { data, info } = await image
        .removeAlpha()
        .toColourspace('b-w')
        .resize(size, size, { fit: 'fill' })
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      return {
        pixels: toGray(data, info.channels),
        original: { width: meta.width ?? size, height: meta.height ?? size },
        format,
        warnings: [],
      };
    } catch (err) {
      throw sharpDecodeError(err, bytes, format);
    }
  }
  const decoded = await decodeGray(bytes, opts);
  return {
    pixels: await resizeGray(decoded, size, size),
    original: { width: decoded.width, height: decoded.height },
    format: decoded.format,
    warnings: decoded.warnings,
  };
}

/** Resizes grey pixels to width x height (stretching). */
export async function resizeGray(image: GrayImage, width: number, height: number): Promise<Uint8Array> {
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 1 },
    limitInputPixels: false,
  })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return toGray(data, info.channels);
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

/** The size that fits `width` x `height` within `maxSide`, keeping the aspect ratio (never enlarging). */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/**
 * The grey image at its own aspect ratio, no larger than `maxSide` (heatmap overlays, browser previews). JPEG
 * and PNG are shrunk while decoding (sharp); other formats (DICOM) are decoded in full, then resized.
 */
export async function decodePreview(bytes: Uint8Array, options: PreviewOptions): Promise<GrayImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const format = sniffFormat(bytes);
  if (format === 'jpeg' || format === 'png') {
    try {
      const { data, info } = await sharpInput(bytes, maxPixels)
        .removeAlpha()
        .toColourspace('b-w')
        .resize(options.maxSide, options.maxSide, { fit: 'inside', withoutEnlargement: true })
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      return {
        width: info.width,
        height: info.height,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      };
    } catch (err) {
      throw sharpDecodeError(err, bytes, format);
    }
  }
  const full = await decodeGray(bytes, { maxPixels });
  const size = fitWithin(full.width, full.height, options.maxSide);
  if (size.width === full.width && size.height === full.height) return full;
  return { ...size, data: await resizeGray(full, size.width, size.height) };
}
