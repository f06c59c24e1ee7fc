/** Test helper: the bad inputs a triage batch must survive, built cheaply at test time. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

export const DICOM_FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'dicom');

export function dicomFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(DICOM_FIXTURES, name)));
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid-looking 1-bit grey PNG that claims `size` x `size` pixels but holds a few compressed rows: decoding it
 * fully would need gigabytes, so it must be refused from its header.
 */
export function pngBomb(size = 60_000): Uint8Array {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, grey, deflate, adaptive filtering, no interlace
  const rows = deflateSync(Buffer.alloc((1 + Math.ceil(size / 8)) * 16));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', rows),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A real JPEG whose frame header (SOF) is patched to claim `size` x `size` pixels. */
export function jpegBomb(jpeg: Uint8Array, size = 60_000): Uint8Array {
  const copy = jpeg.slice();
  for (let i = 2; i < copy.length - 9; ) {
    if (copy[i] !== 0xff) throw new Error('not a JPEG marker sequence');
    const marker = copy[i + 1];
    const length = (copy[i + 2] << 8) | copy[i + 3];
    if (marker >= 0xc0 && marker <= 0xc2) {
      copy.set([size >> 8, size & 0xff, size >> 8, size & 0xff], i + 5);
      return copy;
    }
    i += 2 + length;
  }
  throw new Error('no SOF marker found');
}

/** A copy of an explicit VR little endian DICOM with Rows/Columns patched (a header lying about its size). */
export function dicomWithDimensions(bytes: Uint8Array, columns: number, rows: number): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  const patch = (element: number, value: number) => {
    for (let i = 132; i < copy.length - 10; i += 2) {
      // tag (0028,element), VR "US", value at +8
      const isTag = view.getUint16(i, true) === 0x0028 && view.getUint16(i + 2, true) === element;
      if (isTag && copy[i + 4] === 0x55 && copy[i + 5] === 0x53) {
        view.setUint16(i + 8, value, true);
        return;
      }
    }
    throw new Error(`element (0028,${element.toString(16)}) not found`);
  };
  patch(0x0010, rows);
  patch(0x0011, columns);
  return copy;
}

/** Every kind of bad input with the error code it must produce. */
export function badInputs(): { name: string; bytes: Uint8Array; code: string }[] {
  const jpeg = dicomFixture('source-a.jpeg');
  return [
    { name: 'empty.jpeg', bytes: new Uint8Array(0), code: 'empty' },
    { name: 'truncated.jpeg', bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), code: 'corrupt' },
    { name: 'notes.txt', bytes: new TextEncoder().encode('not an image\n'), code: 'unsupported' },
    { name: 'bomb.png', bytes: pngBomb(), code: 'too-large' },
    { name: 'bomb.jpeg', bytes: jpegBomb(jpeg), code: 'too-large' },
    {
      name: 'bomb.dcm',
      bytes: dicomWithDimensions(dicomFixture('explicit-8bit.dcm'), 60_000, 60_000),
      code: 'too-large',
    },
    { name: 'jpegls.dcm', bytes: dicomFixture('jpegls-lossless.dcm'), code: 'unsupported' },
  ];
}
