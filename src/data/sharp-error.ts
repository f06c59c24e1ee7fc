/**
 * What a failed sharp (libvips) decode means, in words that depend on the file alone. libvips keeps one error
 * buffer per process, so with several decodes in flight the same truncated JPEG reads "premature end of JPEG
 * image" in one run and "Unknown error" in the next: its text is never shown. What went wrong is read from the
 * bytes instead (a missing end marker means the file was cut short).
 */
import { DecodeError } from './decode-error.ts';

/** JPEG's end-of-image marker (FF D9) and the type of PNG's closing IEND chunk: a file cut short lacks them. */
const JPEG_END = [0xff, 0xd9];
const PNG_END = [0x49, 0x45, 0x4e, 0x44];

/** True when the file stops before its format's end marker (trailing zero padding after a JPEG is allowed). */
export function looksTruncated(bytes: Uint8Array, format: string): boolean {
  if (format === 'png') {
    // IEND is the last chunk: 4 length bytes, "IEND", 4 CRC bytes.
    const at = bytes.length - 8;
    return !(at >= 0 && PNG_END.every((b, i) => bytes[at + i] === b));
  }
  if (format !== 'jpeg') return false;
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return !(end >= 2 && bytes[end - 2] === JPEG_END[0] && bytes[end - 1] === JPEG_END[1]);
}

/**
 * A DecodeError for a failed sharp decode of `bytes`. `what` names the thing in messages ("JPEG", "JPEG frame in
 * DICOM"). The pixel-limit refusal is sharp's own check on the header, so its text is stable and kept.
 */
export function sharpDecodeError(
  err: unknown,
  bytes: Uint8Array,
  format: string,
  what: string = format.toUpperCase(),
): DecodeError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new DecodeError(
      'too-large',
      `image dimensions exceed the decoded pixel limit (${message.trim()})`,
    );
  }
  if (looksTruncated(bytes, format)) {
    return new DecodeError(
      'corrupt',
      `truncated ${what}: the file ends before the image data does (${bytes.length} bytes)`,
    );
  }
  return new DecodeError('corrupt', `corrupt ${what}: the image data is damaged`);
}
