/** The server's DICOM codecs: zlib for deflated data sets, sharp (libvips) for JPEG baseline frames. */
import { inflateRawSync } from 'node:zlib';
import { DecodeError } from '../decode-error.ts';
import type { DicomCodecs } from './dicom.ts';
import { readRaster } from './raster.ts';

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
  /** An encapsulated JPEG baseline frame is an ordinary JPEG file: read by the same rule as a JPEG file. */
  async decodeJpeg(frame, maxPixels) {
    const image = await readRaster(frame, 'jpeg', {
      maxPixels,
      fit: { kind: 'full' },
      what: 'JPEG frame in DICOM',
    });
    return {
      width: image.width,
      height: image.height,
      values: Float32Array.from(image.data),
      colourfulness: image.colourfulness,
    };
  },
};
