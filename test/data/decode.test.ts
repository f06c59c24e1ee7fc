/** Decode failures read the same whatever else is decoding at the time (libvips' error text does not). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { decodePreview, decodeResized } from '../../src/data/decode.ts';
import { DecodeError } from '../../src/data/decode-error.ts';
import { looksTruncated } from '../../src/data/sharp-error.ts';

const FIXTURE = path.resolve('test/fixtures/dataset');

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DecodeError, String(err));
    return `${err.code}: ${err.message}`;
  }
  throw new Error('expected a DecodeError');
}

test('a truncated JPEG gets one message, however many decodes run beside it', async () => {
  const truncated = await readFile(path.join(FIXTURE, 'train/PNEUMONIA/truncated.jpeg'));
  const good = await readFile(path.join(FIXTURE, 'train/NORMAL/IM-0117-0001.jpeg'));
  const cuts = [0.3, 0.5, 0.8].map((f) => good.subarray(0, Math.floor(good.length * f)));
  const messages = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const jobs = [truncated, ...cuts, good, good].flatMap((bytes) => [
      decodeResized(bytes, 32).then(
        () => null,
        (err: DecodeError) => err.message,
      ),
    ]);
    const results = await Promise.all(jobs);
    assert.equal(results.filter((m) => m === null).length, 2, 'the whole JPEGs still decode');
    for (const m of results) if (m !== null) messages.add(m.replace(/\(\d+ bytes\)/, '(N bytes)'));
  }
  assert.deepEqual([...messages], ['truncated JPEG: the file ends before the image data does (N bytes)']);
});

test('a truncated PNG and a damaged JPEG say what is wrong, the same way for every decode path', async () => {
  const png = await readFile(path.join(FIXTURE, 'train/NORMAL/IM-0122-0001.png'));
  const cutPng = png.subarray(0, Math.floor(png.length / 2));
  assert.ok(looksTruncated(cutPng, 'png') && !looksTruncated(png, 'png'));
  const expected = `corrupt: truncated PNG: the file ends before the image data does (${cutPng.length} bytes)`;
  assert.equal(await messageOf(decodeResized(cutPng, 32)), expected);
  assert.equal(await messageOf(decodePreview(cutPng, { maxSide: 64 })), expected);

  // A whole JPEG (end marker present) with a scrambled Huffman table.
  const jpeg = await readFile(path.join(FIXTURE, 'train/NORMAL/IM-0117-0001.jpeg'));
  assert.ok(!looksTruncated(jpeg, 'jpeg'));
  const damaged = Buffer.from(jpeg);
  const table = damaged.indexOf(Buffer.from([0xff, 0xc4]));
  damaged.fill(0xee, table + 4, table + 30);
  const message = await messageOf(decodeResized(damaged, 32));
  assert.equal(message, 'corrupt: corrupt JPEG: the image data is damaged');
});

test('trailing zero padding after the end marker is not truncation', () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 0xff, 0xd9, 0, 0, 0]);
  assert.equal(looksTruncated(jpeg, 'jpeg'), false);
  assert.equal(looksTruncated(jpeg.subarray(0, 6), 'jpeg'), true);
});
