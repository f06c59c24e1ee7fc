import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAugmentation, trainingAugment } from '../../src/train/augment.ts';
import { createRandom } from '../../src/train/random.ts';

const SIZE = 32;

function batch(count: number): Uint8Array {
  const random = createRandom(3);
  return Uint8Array.from({ length: count * SIZE * SIZE }, () => Math.floor(random() * 256));
}

describe('trainingAugment', () => {
  const augment = trainingAugment();

  it('is a pure function of the pixels and the seed', () => {
    const a = batch(3);
    const b = a.slice();
    augment({ pixels: a, count: 3, imageSize: SIZE, seed: 11 });
    augment({ pixels: b, count: 3, imageSize: SIZE, seed: 11 });
    assert.deepEqual(a, b);
    const c = batch(3);
    augment({ pixels: c, count: 3, imageSize: SIZE, seed: 12 });
    assert.notDeepEqual(a, c);
  });

  it('changes each image differently but keeps it close to the original', () => {
    const original = new Uint8Array(2 * SIZE * SIZE);
    // A smooth horizontal gradient: small warps and intensity changes move values only a little.
    for (let k = 0; k < 2; k++)
      for (let i = 0; i < SIZE * SIZE; i++) original[k * SIZE * SIZE + i] = 60 + (i % SIZE) * 4;
    const pixels = original.slice();
    augment({ pixels, count: 2, imageSize: SIZE, seed: 5 });
    const first = pixels.subarray(0, SIZE * SIZE);
    const second = pixels.subarray(SIZE * SIZE);
    assert.notDeepEqual(first, second);
    let meanAbs = 0;
    for (let i = 0; i < original.length; i++) meanAbs += Math.abs(pixels[i] - original[i]);
    meanAbs /= original.length;
    assert.ok(meanAbs > 0 && meanAbs < 40, `mean change ${meanAbs}`);
  });

  it('describes itself for the model card', () => {
    assert.match(describeAugmentation(true), /rotation ±8°.*no flips/);
    assert.equal(describeAugmentation(false), 'none');
  });
});
