/**
 * Decoding any supported image file to 8-bit grey-scale, at full size or resized to the model's input.
 *
 * Decoders are pluggable: each one recognises its format from the bytes (never from the extension alone) and
 * returns grey pixels. JPEG and PNG go straight through sharp (libvips), which can shrink JPEGs while decoding;
 * other formats (DICOM) register a decoder with `registerDecoder` and are resized from their raw pixels.
 */
import sharp from 'sharp';
import { registerBuiltinDecoders } from './decoders/index.ts';
import type { GrayImage } from './types.ts';

/** Decoded pixel budget: anything larger is refused before decoding (decompression bombs). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export type DecodeErrorCode = 'empty' | 'unsupported' | 'corrupt' | 'too-large' | 'unreadable';

/** A decoding failure with a machine-readable code and a message fit for a user. */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = 'DecodeError';
    this.code = code;
  }
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (width x height). */
  maxPixels?: number;
}

/** A decoded image plus anything the user should know about how it was read. */
export interface DecodedImage extends GrayImage {
  /** Which decoder read it (`jpeg`, `png`, `dicom`, ...). */
  format: string;
  /** Non-fatal notes, e.g. "multi-frame DICOM: using frame 1 of 3". Never contains patient identifiers. */
  warnings: string[];
}

/** A format plug-in: `sniff` looks at the first bytes, `decode` returns full-size grey pixels. */
export interface ImageDecoder {
  name: string;
  sniff(bytes: Uint8Array): boolean;
  decode(bytes: Uint8Array, options: Required<DecodeOptions>): Promise<DecodedImage>;
}

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

const pluginDecoders: ImageDecoder[] = [];

/** Adds a decoder for a format sharp does not read (e.g. DICOM). Later registrations are tried first. */
export function registerDecoder(decoder: ImageDecoder): void {
  const existing = pluginDecoders.findIndex((d) => d.name === decoder.name);
  if (existing >= 0) pluginDecoders.splice(existing, 1);
  pluginDecoders.unshift(decoder);
}

/** The format name for these bytes, or null when no decoder recognises them. */
export function sniffFormat(bytes: Uint8Array): string | null {
  for (const d of pluginDecoders) if (d.sniff(bytes)) return d.name;
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

/** Turns sharp/libvips errors into DecodeErrors with a short, stable message. */
function sharpError(err: unknown, format: string): DecodeError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new DecodeError(
      'too-large',
      `image dimensions exceed the decoded pixel limit (${message.trim()})`,
    );
  }
  return new DecodeError(
    'corrupt',
    `corrupt or truncated ${format.toUpperCase()}: ${message.split('\n')[0].trim()}`,
  );
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
  const plugin = pluginDecoders.find((d) => d.name === format);
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
    throw sharpError(err, format);
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
  if (!pluginDecoders.some((d) => d.name === format)) {
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
      throw sharpError(err, format);
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

// Built-in plug-ins (DICOM) are registered here, so any module that decodes images reads every supported format.
registerBuiltinDecoders();
