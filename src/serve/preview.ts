/**
 * A small grey picture of an uploaded image for the browser, which cannot display DICOM (and should not have to
 * hold a 20-megapixel JPEG to draw a thumbnail). Decoding goes through the project's one decoder, via
 * src/data/decode.ts, so the picture is exactly what the model read.
 */
import sharp from 'sharp';
import { decodePreview } from '../data/decode.ts';

/** Longest side of a preview in pixels: enough for the detail view on a laptop screen. */
export const PREVIEW_MAX_SIDE = 768;

/**
 * The image as a JPEG data URL, longest side at most `maxSide` pixels, aspect ratio kept. JPEG because a
 * radiograph's noise makes PNG previews five to ten times larger for no visible gain at this size.
 */
export async function renderPreview(
  bytes: Uint8Array,
  options: { maxPixels: number; maxSide?: number },
): Promise<string> {
  const image = await decodePreview(bytes, {
    maxSide: options.maxSide ?? PREVIEW_MAX_SIDE,
    maxPixels: options.maxPixels,
  });
  const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return dataUrl(jpeg, 'image/jpeg');
}

export function dataUrl(bytes: Uint8Array, type: 'image/png' | 'image/jpeg'): string {
  return `data:${type};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
