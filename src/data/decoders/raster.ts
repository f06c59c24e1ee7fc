/**
 * JPEG, PNG, WebP and TIFF → 8-bit grey, through sharp (libvips), by one rule for every container:
 *
 * - Embedded ICC colour profiles are ignored (`ignoreIcc`): the training images and DICOM files carry none, and
 *   applying one brightened grey X-ray JPEGs by ~13 grey levels compared with the same pixels in any other file.
 * - Colour becomes grey by BT.601 luma (src/data/colour.ts), computed here rather than by libvips, whose 'b-w'
 *   conversion uses other weights; the decoder also reports how colourful the picture was (for the input gate).
 * - 8-bit samples are kept as they are. Deeper samples (16-bit PNG/TIFF, float TIFF) are windowed like a DICOM
 *   image without a VOI LUT: their own 0.5–99.5 percentile range is stretched to 0–255 (see dicom-pixels.ts), so
 *   a 16-bit file holding only values 0–255 is not read as nearly black, as dividing by 257 would.
 * - Alpha is dropped; only the first page or frame of a multi-page TIFF or animated WebP is read.
 * - One resampling for every container. JPEGs shrink while decoding as libvips does by default (libjpeg decodes at
 *   1/2, 1/4 or 1/8 size: the fast path for full-resolution X-rays, and how every training image was read). Every
 *   other container is decoded in full and then given the same shrink as a box average (`shrinkLikeJpeg`) before
 *   libvips' resize. Without that, a PNG and a JPEG of the same film differed by ~0.9 grey levels (up to 12) at
 *   64 px, which moved a score by 0.012; with it, by 0.17 (up to 1). The browser app (src/data/resample.ts) does
 *   the same.
 */
import sharp from 'sharp';
import type { GrayImage } from '../../core/types.ts';
import { toBytes, toLuma } from '../colour.ts';
import { DecodeError } from '../decode-error.ts';
import { shrinkLikeJpeg } from '../resample.ts';
import { sharpDecodeError } from '../sharp-error.ts';
import { toDisplayPixels } from './dicom-pixels.ts';

/** A format sharp reads, recognised by its first bytes. */
export interface RasterFormat {
  name: string;
  sniff(bytes: Uint8Array): boolean;
}

function startsWith(bytes: Uint8Array, magic: readonly number[], offset = 0): boolean {
  return bytes.length >= offset + magic.length && magic.every((b, i) => bytes[offset + i] === b);
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The raster formats read through sharp, in sniffing order. */
export const RASTER_FORMATS: readonly RasterFormat[] = [
  { name: 'jpeg', sniff: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { name: 'png', sniff: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { name: 'webp', sniff: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8) },
  {
    name: 'tiff',
    // Little- and big-endian TIFF, and BigTIFF (42 → 43).
    sniff: (b) =>
      startsWith(b, [0x49, 0x49, 0x2a, 0x00]) ||
      startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) ||
      startsWith(b, [0x49, 0x49, 0x2b, 0x00]) ||
      startsWith(b, [0x4d, 0x4d, 0x00, 0x2b]),
  },
];

/** How the decoded picture is sized: full size, stretched to a square, or shrunk to fit a box. */
export type RasterFit =
  | { kind: 'full' }
  | { kind: 'square'; size: number }
  | { kind: 'inside'; maxSide: number };

export interface RasterImage extends GrayImage {
  /** Size of the picture in the file, before any resizing. */
  original: { width: number; height: number };
  /** Colourfulness before grey conversion (0 = grey; see src/data/colour.ts). */
  colourfulness: number;
}

/** The size that fits `width` x `height` within `maxSide`, keeping the aspect ratio (never enlarging). */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** Resizes grey pixels to width x height (stretching). */
export async function resizeGray(image: GrayImage, width: number, height: number): Promise<Uint8Array> {
  if (width === image.width && height === image.height) return image.data;
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 1 },
    limitInputPixels: false,
  })
    .resize(width, height, { fit: 'fill' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`resizeGray: expected 1 channel, got ${info.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * Resizes a full-size grey image as `fit` asks, giving it a JPEG's shrink-on-load first (the rule above). Every
 * container that is not resized inside libvips (DICOM, 16-bit and non-JPEG rasters) comes through here.
 */
export async function fitGray(image: GrayImage, fit: RasterFit): Promise<GrayImage> {
  if (fit.kind === 'full') return image;
  const size =
    fit.kind === 'square'
      ? { width: fit.size, height: fit.size }
      : fitWithin(image.width, image.height, fit.maxSide);
  return {
    ...size,
    data: await resizeGray(shrinkLikeJpeg(image, size.width, size.height), size.width, size.height),
  };
}

/**
 * Decodes a JPEG, PNG, WebP or TIFF file to 8-bit grey by the rule above, sized as `fit` asks. A JPEG is resized
 * by libvips while it decodes (shrink-on-load, the fast path for full-resolution X-rays); every other file is
 * decoded in full (deeper ones windowed), then resized by `fitGray`. Throws DecodeError.
 */
export async function readRaster(
  bytes: Uint8Array,
  format: string,
  options: {
    maxPixels: number;
    fit: RasterFit;
    /** Names the thing in messages (default: the format). */
    what?: string;
  },
): Promise<RasterImage> {
  try {
    // failOn 'error' rejects truncated and damaged files instead of returning half-grey images. autoOrient turns
    // the pixels as the EXIF Orientation tag says (a photographed film, a phone upload), as every viewer and the
    // browser's decoder (on-device scoring) show them.
    const image = sharp(bytes, {
      limitInputPixels: options.maxPixels,
      failOn: 'error',
      ignoreIcc: true,
      autoOrient: true,
    });
    const meta = await image.metadata();
    const original = {
      width: meta.autoOrient?.width ?? meta.width ?? 0,
      height: meta.autoOrient?.height ?? meta.height ?? 0,
    };
    const colourChannels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    const grey = colourChannels < 3;
    const deep = meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'char';
    if (deep) {
      const { data, info } = await image
        .removeAlpha()
        .toColourspace(grey ? 'grey16' : 'rgb16')
        .raw({ depth: 'float' })
        .toBuffer({ resolveWithObject: true });
      const samples = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
      let max = 0;
      for (const v of samples) if (v > max) max = v;
      const { grey: values, colourfulness } = toLuma(
        { data: samples, channels: info.channels },
        max > 0 ? 255 / max : 1,
      );
      const display = toDisplayPixels(values, {
        rescaleSlope: 1,
        rescaleIntercept: 0,
        invert: false,
        bitsStored: 16,
        signed: false,
      });
      const full = { width: info.width, height: info.height, data: display };
      return { ...(await fitGray(full, options.fit)), original, colourfulness };
    }
    // Only a JPEG is resized inside libvips (shrinking while it decodes); the rest are decoded in full and resized
    // by fitGray, which gives them the JPEG's shrink first (see the rule above).
    const inLibvips = format === 'jpeg';
    let pipeline = image.removeAlpha().toColourspace(grey ? 'b-w' : 'srgb');
    if (inLibvips && options.fit.kind === 'square') {
      pipeline = pipeline.resize(options.fit.size, options.fit.size, { fit: 'fill' });
    } else if (inLibvips && options.fit.kind === 'inside') {
      pipeline = pipeline.resize(options.fit.maxSide, options.fit.maxSide, {
        fit: 'inside',
        withoutEnlargement: true,
      });
    }
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const samples = new Uint8Array(data.buffer, data.byteOffset, data.length);
    let pixels: Uint8Array = samples;
    let colourfulness = 0;
    if (info.channels !== 1) {
      const luma = toLuma({ data: samples, channels: info.channels });
      pixels = toBytes(luma.grey);
      colourfulness = luma.colourfulness;
    }
    const picture = { width: info.width, height: info.height, data: pixels };
    const fitted = inLibvips ? picture : await fitGray(picture, options.fit);
    return { ...fitted, original, colourfulness };
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw sharpDecodeError(err, bytes, format, options.what);
  }
}
