/**
 * Decoding an image file to grey pixels in the browser: JPEG and PNG with the browser's own decoder, DICOM with
 * the server's DICOM module (src/data/decoders/dicom.ts) and the browser's inflate and JPEG codecs. Used by the
 * on-device scorer and by the viewer, which shows the full-resolution image rather than the server's preview.
 */
import type { GrayImage } from '../core/types.ts';
import { ColourfulnessMeter, luma } from '../data/colour.ts';
import { DecodeError } from '../data/decode-error.ts';
import type { DicomAttributes } from '../data/decoders/decoder.ts';
import { createDicomDecoder, type DicomCodecs, isDicom } from '../data/decoders/dicom.ts';

/** Decoded pixel budget, as on the server: anything larger is refused. */
export const MAX_PIXELS = 100_000_000;

export type ImageFormat = 'jpeg' | 'png' | 'dicom';

export interface DecodedFile {
  image: GrayImage;
  format: ImageFormat;
  warnings: string[];
  /** How colourful the picture was before grey conversion (the input gate's colour check). */
  colourfulness: number;
  /** What a DICOM file says it shows (the input gate's DICOM check). */
  dicom?: DicomAttributes;
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** The format of these bytes, as the server sniffs it (never from the extension). */
export function sniff(bytes: Uint8Array): ImageFormat | null {
  if (isDicom(bytes)) return 'dicom';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  return null;
}

function canvas(width: number, height: number): OffscreenCanvas | HTMLCanvasElement {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height);
  const element = document.createElement('canvas');
  element.width = width;
  element.height = height;
  return element;
}

/**
 * Decodes a JPEG or PNG with the browser by the server's pixel rule (src/data/decode.ts): embedded colour
 * profiles ignored, colour → BT.601 luma, with the picture's colourfulness for the input gate.
 */
export async function browserDecodeGray(
  blob: Blob,
  maxPixels = MAX_PIXELS,
): Promise<GrayImage & { colourfulness: number }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new DecodeError('corrupt', `corrupt or truncated ${blob.type === 'image/png' ? 'PNG' : 'image'}`);
  }
  const { width, height } = bitmap;
  if (width * height > maxPixels) {
    bitmap.close();
    throw new DecodeError(
      'too-large',
      `image dimensions ${width} x ${height} exceed the decoded pixel limit`,
    );
  }
  const surface = canvas(width, height);
  const context = surface.getContext('2d', { willReadFrequently: true }) as
    | CanvasRenderingContext2D
    | OffscreenCanvasRenderingContext2D
    | null;
  if (!context) throw new DecodeError('corrupt', 'this browser cannot read image pixels');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height);
  const meter = new ColourfulnessMeter();
  for (let i = 0; i < data.length; i++) {
    const r = rgba[i * 4];
    const g = rgba[i * 4 + 1];
    const b = rgba[i * 4 + 2];
    data[i] = r === g && g === b ? r : Math.round(luma(r, g, b));
    meter.add(r, g, b);
  }
  return { width, height, data, colourfulness: meter.value() };
}

/** Raw-deflate inflation with the browser's DecompressionStream, capped at `maxOutput` bytes. */
async function inflateRaw(deflated: Uint8Array, maxOutput: number): Promise<Uint8Array> {
  const stream = new Blob([deflated as BlobPart])
    .stream()
    .pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > maxOutput) {
        await reader.cancel();
        throw new DecodeError('too-large', 'deflated DICOM data set inflates beyond the decoded pixel limit');
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError('corrupt', 'corrupt deflated DICOM data set');
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const browserCodecs: DicomCodecs = {
  inflateRaw,
  async decodeJpeg(frame, maxPixels) {
    const image = await browserDecodeGray(new Blob([frame as BlobPart], { type: 'image/jpeg' }), maxPixels);
    return {
      width: image.width,
      height: image.height,
      values: Float32Array.from(image.data),
      colourfulness: image.colourfulness,
    };
  },
};

const dicom = createDicomDecoder(browserCodecs);

/** Decodes any supported file; throws DecodeError with the server's wording. */
export async function decodeFile(file: Blob): Promise<DecodedFile> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length === 0) throw new DecodeError('empty', 'file is empty (0 bytes)');
  const format = sniff(bytes);
  if (format === null) {
    throw new DecodeError('unsupported', 'not a supported image format (expected JPEG, PNG or DICOM)');
  }
  if (format === 'dicom') {
    const decoded = await dicom.decode(bytes, { maxPixels: MAX_PIXELS });
    return {
      image: decoded,
      format,
      warnings: decoded.warnings,
      colourfulness: decoded.colourfulness,
      ...(decoded.dicom ? { dicom: decoded.dicom } : {}),
    };
  }
  const image = await browserDecodeGray(new Blob([bytes], { type: `image/${format}` }));
  return { image, format, warnings: [], colourfulness: image.colourfulness };
}

/** A small JPEG data URL of a grey image, for worklist thumbnails. */
export async function thumbnailOf(image: GrayImage, maxSide = 96): Promise<string> {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const full = document.createElement('canvas');
  full.width = image.width;
  full.height = image.height;
  full.getContext('2d')!.putImageData(greyImageData(image), 0, 0);
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const context = small.getContext('2d')!;
  context.imageSmoothingQuality = 'high';
  context.drawImage(full, 0, 0, width, height);
  return small.toDataURL('image/jpeg', 0.85);
}

/** Grey pixels as canvas ImageData, through an optional 256-entry lookup table (window/level). */
export function greyImageData(image: GrayImage, lut?: Uint8Array): ImageData {
  const out = new ImageData(image.width, image.height);
  const rgba = out.data;
  for (let i = 0; i < image.data.length; i++) {
    const v = lut ? lut[image.data[i]] : image.data[i];
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return out;
}
