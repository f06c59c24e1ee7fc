import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveSeed, seededPermutation, withSeededMathRandom } from '../../src/core/random.ts';

describe('seeded randomness', () => {
  it('derives distinct, stable seeds from labels', () => {
    assert.equal(deriveSeed(42, 'shuffle', 3), deriveSeed(42, 'shuffle', 3));
    const seeds = new Set([
      deriveSeed(42, 'shuffle', 3),
      deriveSeed(42, 'shuffle', 4),
      deriveSeed(43, 'shuffle', 3),
      deriveSeed(42, 'augment', 3),
      deriveSeed(42, 'shuffle3'),
    ]);
    assert.equal(seeds.size, 5);
  });

  it('gives a reproducible permutation of 0..n-1', () => {
    const a = seededPermutation(100, 5);
    assert.deepEqual(a, seededPermutation(100, 5));
    assert.notDeepEqual(a, seededPermutation(100, 6));
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('seeds Math.random inside the callback only, and restores it even on errors', () => {
    const original = Math.random;
    const first = withSeededMathRandom(9, () => [Math.random(), Math.random()]);
    assert.deepEqual(
      first,
      withSeededMathRandom(9, () => [Math.random(), Math.random()]),
    );
    assert.throws(() =>
      withSeededMathRandom(9, () => {
        throw new Error('boom');
      }),
    );
    assert.equal(Math.random, original);
  });
});
