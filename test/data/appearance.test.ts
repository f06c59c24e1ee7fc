import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import { APPEARANCE_FEATURES, appearanceFeatures, atypicality } from '../../src/data/appearance.ts';

const SIZE = 32;

function film(brightness: number, noise: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const px = new Uint8Array(SIZE * SIZE);
  for (let i = 0; i < px.length; i++) {
    const x = i % SIZE;
    px[i] = Math.max(0, Math.min(255, Math.round(brightness + x * 2 + (random() - 0.5) * noise)));
  }
  return px;
}

describe('appearance features', () => {
  it('describe exposure, contrast and sharpness in the documented order', () => {
    const px = film(100, 0, 1);
    const f = appearanceFeatures(px, 0, SIZE);
    assert.equal(f.length, APPEARANCE_FEATURES.length);
    assert.ok(Math.abs(f[0] - (100 + 31)) < 1, `mean ${f[0]}`);
    const noisy = appearanceFeatures(film(100, 80, 1), 0, SIZE);
    assert.ok(noisy[APPEARANCE_FEATURES.indexOf('sharpness')] > f[APPEARANCE_FEATURES.indexOf('sharpness')]);
  });

  it('rank the film that looks least like the others as the most atypical', () => {
    const rows = Array.from({ length: 30 }, (_, k) => appearanceFeatures(film(90 + (k % 5), 20, k), 0, SIZE));
    rows.push(appearanceFeatures(film(30, 120, 99), 0, SIZE));
    const distance = atypicality(rows);
    const worst = distance.indexOf(Math.max(...distance));
    assert.equal(worst, rows.length - 1);
  });
});
