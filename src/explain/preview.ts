/**
 * The grey image a heatmap is drawn over: the original at its own aspect ratio, no larger than `maxSide`.
 * JPEG and PNG are shrunk while decoding (sharp); other formats (DICOM) are decoded in full, then resized.
 */
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, DecodeError, decodeGray, resizeGray, sniffFormat } from '../data/decode.ts';
import type { GrayImage } from '../data/types.ts';

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

export async function decodePreview(bytes: Uint8Array, options: PreviewOptions): Promise<GrayImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const format = sniffFormat(bytes);
  if (format === 'jpeg' || format === 'png') {
    try {
      const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
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
      // decodeResized has already reported the real problem for this input; keep this one short.
      throw new DecodeError(
        'corrupt',
        `could not decode a preview: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  const full = await decodeGray(bytes, { maxPixels });
  const size = fitWithin(full.width, full.height, options.maxSide);
  if (size.width === full.width && size.height === full.height) return full;
  return { ...size, data: await resizeGray(full, size.width, size.height) };
}
