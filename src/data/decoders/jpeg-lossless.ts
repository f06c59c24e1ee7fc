/**
 * JPEG lossless (process 14) frames, the compression many CR/DX modalities use for 12-16 bit X-rays. sharp
 * (libjpeg-turbo) cannot read them; jpeg-lossless-decoder-js (pure JavaScript, no downloads) does.
 */
import { Decoder } from 'jpeg-lossless-decoder-js';
import { DecodeError } from '../decode-error.ts';

/** What a JPEG frame header (SOFn) says about the image. */
export interface JpegFrameHeader {
  width: number;
  height: number;
  /** Bits per sample. */
  precision: number;
  components: number;
}

/** Reads the first SOFn header without decoding anything (used to refuse oversized frames up front). */
export function readJpegFrameHeader(bytes: Uint8Array): JpegFrameHeader | null {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        precision: bytes[i + 4],
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        components: bytes[i + 9],
      };
    }
    i += 2 + length;
  }
  return null;
}

/** A decoded lossless frame laid out like native pixel data (little-endian, interleaved samples). */
export interface LosslessFrame {
  bytes: Uint8Array;
  bitsAllocated: 8 | 16;
  width: number;
  height: number;
}

export function decodeJpegLossless(frame: Uint8Array, maxPixels: number): LosslessFrame {
  const header = readJpegFrameHeader(frame);
  if (!header) throw new DecodeError('corrupt', 'DICOM JPEG lossless frame has no readable JPEG header');
  if (header.width * header.height > maxPixels) {
    throw new DecodeError(
      'too-large',
      `JPEG frame dimensions ${header.width} x ${header.height} exceed the decoded pixel limit of ${maxPixels} pixels`,
    );
  }
  try {
    const decoder = new Decoder();
    const output = decoder.decompress(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length);
    return {
      bytes: new Uint8Array(output),
      bitsAllocated: decoder.numBytes === 1 ? 8 : 16,
      width: header.width,
      height: header.height,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DecodeError('corrupt', `corrupt JPEG lossless frame in DICOM: ${message.split('\n')[0]}`);
  }
}
