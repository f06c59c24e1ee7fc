/** The server's DICOM codecs: zlib for deflated data sets, sharp (libvips) for JPEG baseline frames. */
import { inflateRawSync } from 'node:zlib';
import sharp from 'sharp';
import { DecodeError } from '../decode-error.ts';
import { sharpDecodeError } from '../sharp-error.ts';
import type { DicomCodecs } from './dicom.ts';

export const nodeDicomCodecs: DicomCodecs = {
  async inflateRaw(deflated, maxOutput) {
    try {
      const out = inflateRawSync(deflated, { maxOutputLength: maxOutput });
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'ERR_BUFFER_TOO_LARGE') {
        throw new DecodeError('too-large', 'deflated DICOM data set inflates beyond the decoded pixel limit');
      }
      throw new DecodeError('corrupt', `corrupt deflated DICOM data set: ${(err as Error).message}`);
    }
  },
  /** An encapsulated JPEG baseline frame is an ordinary JPEG file: sharp decodes it (colour → luminance). */
  async decodeJpeg(frame, maxPixels) {
    try {
      const { data, info } = await sharp(frame, { limitInputPixels: maxPixels, failOn: 'error' })
        .toColourspace('b-w')
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, values: Float32Array.from(data) };
    } catch (err) {
      throw sharpDecodeError(err, frame, 'jpeg', 'JPEG frame in DICOM');
    }
  },
};
