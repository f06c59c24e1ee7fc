/**
 * The browser's resize (src/data/resample.ts) against the server's (sharp/libvips): the model input the browser
 * prepares from a full-size decode must match what `decodeResized` gives the server.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeGray, decodeResized } from '../../src/data/decode.ts';
import { boxShrink, jpegShrinkFactor, modelInputPixels, resizeLikeLibvips } from '../../src/data/resample.ts';

function differences(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

const SAMPLES = ['NORMAL/IM-0117-0001.jpeg', 'PNEUMONIA/person1008_virus_1691.jpeg'];

test('sharp’s JPEG shrink-on-load factor', () => {
  assert.equal(jpegShrinkFactor(1422, 1152, 112, 112), 8);
  // An exact factor is lowered (sharp avoids libjpeg's rounding there).
  assert.equal(jpegShrinkFactor(896, 896, 112, 112), 4);
  assert.equal(jpegShrinkFactor(1000, 728, 112, 112), 4);
  assert.equal(jpegShrinkFactor(400, 400, 112, 112), 2);
  assert.equal(jpegShrinkFactor(300, 300, 112, 112), 1);
});

test('box shrink averages whole blocks, or keeps the partial ones', () => {
  const image = { width: 3, height: 2, data: [0, 2, 9, 4, 6, 9] };
  assert.deepEqual([...boxShrink(image, 2, 2, 'drop').data], [3]);
  assert.deepEqual([...boxShrink(image, 2, 2, 'keep').data], [3, 9]);
});

test('a constant image stays constant through the Lanczos reduction', () => {
  const image = { width: 37, height: 23, data: new Uint8Array(37 * 23).fill(117) };
  assert.ok(resizeLikeLibvips(image, 11, 7).every((v) => v === 117));
});

for (const sample of SAMPLES) {
  test(`model input for ${sample} matches the server's decoder`, async () => {
    const bytes = new Uint8Array(await readFile(path.resolve('samples', sample)));
    const server = (await decodeResized(bytes, 112)).pixels;
    const browser = modelInputPixels(await decodeGray(bytes), 112);
    const { mean, max } = differences(server, browser);
    assert.ok(mean < 0.6, `mean absolute difference ${mean.toFixed(3)} grey levels`);
    assert.ok(max <= 24, `largest difference ${max} grey levels`);
  });
}

test('a PNG (given a JPEG’s shrink, then libvips’ resize) matches the server', async () => {
  const full = await decodeGray(new Uint8Array(await readFile(path.resolve('samples', SAMPLES[0]))));
  const png = new Uint8Array(
    await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 1 } })
      .png()
      .toBuffer(),
  );
  const server = (await decodeResized(png, 112)).pixels;
  const { mean, max } = differences(server, modelInputPixels(full, 112));
  // libvips rounds its fixed-point Lanczos weights; ours are exact, so a little more slack than for JPEG.
  assert.ok(mean < 1, `mean absolute difference ${mean.toFixed(3)}`);
  assert.ok(max <= 12, `largest difference ${max}`);
});
