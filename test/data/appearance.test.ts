import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import {
  APPEARANCE_FEATURES,
  appearanceFeatures,
  atypicality,
  splitScores,
} from '../../src/data/appearance.ts';

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

describe('split scores', () => {
  it('framing ranks a film whose edges show body above one with a dark background border', () => {
    const tight = new Uint8Array(SIZE * SIZE).fill(150);
    const loose = tight.slice();
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++)
        if (x < 4 || x >= SIZE - 4 || y < 4 || y >= SIZE - 4) loose[y * SIZE + x] = 5;
    }
    const pixels = new Uint8Array(2 * SIZE * SIZE);
    pixels.set(tight, 0);
    pixels.set(loose, SIZE * SIZE);
    const [a, b] = splitScores('framing', pixels, SIZE, [0, 0]);
    assert.ok(a > b);
  });

  it('appearance scores each image among its own label only', () => {
    const images = Array.from({ length: 12 }, (_, k) => film(90 + (k % 4), 20, k));
    images.push(film(30, 120, 50));
    const pixels = new Uint8Array(images.length * SIZE * SIZE);
    for (const [i, img] of images.entries()) pixels.set(img, i * SIZE * SIZE);
    const labels = images.map((_, i) => (i < 6 ? 1 : 0));
    const scores = splitScores('appearance', pixels, SIZE, labels);
    const normals = Array.from(scores).slice(6);
    assert.equal(normals.indexOf(Math.max(...normals)), normals.length - 1);
  });
});
