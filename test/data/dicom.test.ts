/**
 * The DICOM decoder on fixtures made by scripts/make-dicom-fixtures.sh (dcmtk) from source-a.jpeg: every
 * supported encoding must decode to the picture in the source JPEG.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { GrayImage } from '../../src/core/types.ts';
import { decodeGray, decodeResized, sniffFormat } from '../../src/data/decode.ts';
import { DecodeError } from '../../src/data/decode-error.ts';
import { percentileRange, toDisplayPixels } from '../../src/data/decoders/dicom-pixels.ts';
import { dicomWithDimensions } from '../predict/bad-inputs.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'dicom');
const fixture = (name: string) => new Uint8Array(readFileSync(path.join(FIXTURES, name)));

function meanAbsDifference(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function correlation(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}

async function rejectsWith(name: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(decodeGray(fixture(name)), (err: unknown) => {
    assert.ok(err instanceof DecodeError, `${name}: expected a DecodeError`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

const source: GrayImage = await decodeGray(fixture('source-a.jpeg'));

describe('DICOM decoder', () => {
  test('is recognised from the DICM magic, not the extension', () => {
    assert.equal(sniffFormat(fixture('explicit-8bit.dcm')), 'dicom');
    assert.equal(sniffFormat(fixture('source-a.jpeg')), 'jpeg');
  });

  // Same pixels as the source JPEG (dcmtk's and sharp's JPEG decoders may differ by a grey level here and there).
  for (const name of [
    'jpeg-baseline.dcm',
    'explicit-8bit.dcm',
    'implicit-8bit.dcm',
    'deflated-8bit.dcm',
    'rgb-planar-8bit.dcm',
    'signed-rescale-window-16bit.dcm',
    'bigendian-16bit.dcm',
    'jpeg-lossless.dcm',
    'jpeg-lossless-16bit.dcm',
  ]) {
    test(`${name} decodes to the source picture`, async () => {
      const image = await decodeGray(fixture(name));
      assert.equal(image.format, 'dicom');
      assert.deepEqual([image.width, image.height], [source.width, source.height]);
      assert.ok(meanAbsDifference(image.data, source.data) < 1, `${name} differs from the source`);
      assert.deepEqual(image.warnings, []);
    });
  }

  test('colour (JPEG YBR and uncompressed RGB) becomes grey', async () => {
    for (const name of ['jpeg-baseline-colour.dcm', 'rgb-8bit.dcm']) {
      const image = await decodeGray(fixture(name));
      assert.equal(image.data.length, image.width * image.height);
      assert.ok(correlation(image.data, source.data) > 0.99, name);
    }
  });

  test('MONOCHROME1 is inverted to MONOCHROME2', async () => {
    const plain = await decodeGray(fixture('explicit-8bit.dcm'));
    const inverted = await decodeGray(fixture('monochrome1-8bit.dcm'));
    for (let i = 0; i < plain.data.length; i++) assert.equal(inverted.data[i], 255 - plain.data[i]);
  });

  test('12 bits stored in 16: unused high bits are masked and a percentile window is applied', async () => {
    // The fixture has junk in bits 12-15 of every other pixel; unmasked, the image would be striped noise.
    const image = await decodeGray(fixture('bits12-16bit.dcm'));
    assert.ok(correlation(image.data, source.data) > 0.99);
    const dark = image.data.filter((v) => v === 0).length / image.data.length;
    const bright = image.data.filter((v) => v === 255).length / image.data.length;
    assert.ok(dark > 0 && dark < 0.05, `clipped dark fraction ${dark}`);
    assert.ok(bright > 0 && bright < 0.05, `clipped bright fraction ${bright}`);
  });

  test('multi-frame: the first frame, with a warning', async () => {
    const image = await decodeGray(fixture('multiframe-8bit.dcm'));
    assert.equal(meanAbsDifference(image.data, source.data), 0);
    assert.deepEqual(image.warnings, ['multi-frame DICOM: using frame 1 of 2']);
  });

  test('unsupported transfer syntaxes are named in the error', async () => {
    await rejectsWith(
      'jpegls-lossless.dcm',
      'unsupported',
      /1\.2\.840\.10008\.1\.2\.4\.80 \(JPEG-LS Lossless\)/,
    );
    await rejectsWith('rle-lossless.dcm', 'unsupported', /1\.2\.840\.10008\.1\.2\.5 \(RLE Lossless\)/);
    await rejectsWith(
      'rle-lossless.dcm',
      'unsupported',
      /readable: uncompressed .*JPEG baseline, JPEG lossless/,
    );
  });

  test('a file without pixel data, a truncated file and a decompression bomb fail clearly', async () => {
    await rejectsWith('no-pixel-data.dcm', 'unsupported', /no pixel data/);
    const whole = fixture('explicit-8bit.dcm');
    await assert.rejects(decodeGray(whole.subarray(0, whole.length - 500)), { code: 'corrupt' });
    await assert.rejects(decodeGray(dicomWithDimensions(whole, 60000, 60000)), {
      code: 'too-large',
      message: /60000 x 60000/,
    });
  });

  test('decodeResized reads DICOM for the model like any image', async () => {
    const resized = await decodeResized(fixture('implicit-8bit.dcm'), 16);
    assert.equal(resized.pixels.length, 256);
    assert.deepEqual(resized.original, { width: source.width, height: source.height });
    assert.equal(resized.format, 'dicom');
  });
});

describe('DICOM display pipeline', () => {
  const settings = { rescaleSlope: 1, rescaleIntercept: 0, invert: false, bitsStored: 16, signed: false };

  test('a LINEAR window maps centre to mid-grey and clips outside', () => {
    const window = { center: 1000, width: 401, function: 'LINEAR' as const };
    const out = toDisplayPixels(Float32Array.from([0, 799.5, 1000.5, 1200.5, 5000]), { ...settings, window });
    assert.deepEqual([out[0], out[1], out[3], out[4]], [0, 0, 255, 255]);
    assert.ok(Math.abs(out[2] - 128) <= 1);
  });

  test('rescale is applied before the window', () => {
    const window = { center: 0, width: 100, function: 'LINEAR_EXACT' as const };
    // stored 2000 * slope 1 - 2000 = 0 = the window centre.
    const out = toDisplayPixels(Float32Array.from([2000]), { ...settings, rescaleIntercept: -2000, window });
    assert.ok(Math.abs(out[0] - 128) <= 1);
  });

  test('the percentile window ignores a few extreme pixels', () => {
    const values = new Float32Array(10000).map((_, i) => i % 100);
    values[0] = 60000; // one hot pixel must not squash the rest of the image to black
    const { low, high } = percentileRange(values, 0.005);
    assert.ok(low >= 0 && low < 2, `low ${low}`);
    assert.ok(high > 97 && high < 120, `high ${high}`);
  });
});
