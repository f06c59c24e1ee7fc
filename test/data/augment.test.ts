import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import { AUGMENTATION_PRESETS, createAugmenter } from '../../src/data/augment.ts';

const SIZE = 32;
const AREA = SIZE * SIZE;

/** Three synthetic images: a gradient, a bright square on black, and noise-like texture. */
function sourceImages(): Uint8Array {
  const src = new Uint8Array(3 * AREA);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      src[y * SIZE + x] = (x * 8) % 256;
      src[AREA + y * SIZE + x] = x >= 8 && x < 16 && y >= 8 && y < 16 ? 200 : 0;
      src[2 * AREA + y * SIZE + x] = (x * 37 + y * 91) % 256;
    }
  }
  return src;
}

const NO_JITTER = { rotationDegrees: 0, scale: 0, shift: 0, brightness: 0, contrast: 0 };

/** Mean column and row of the bright pixels of an image (its centre of mass). */
function centroid(pixels: ArrayLike<number>, offset: number): { x: number; y: number } {
  let sum = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < AREA; i++) {
    const v = pixels[offset + i];
    sum += v;
    sx += v * (i % SIZE);
    sy += v * Math.floor(i / SIZE);
  }
  return { x: sx / sum, y: sy / sum };
}

describe('augmentation', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const src = sourceImages();
    const run = (seed: number) => {
      const out = new Uint8Array(3 * AREA);
      createAugmenter({ seed }).augmentBatch({ src, indices: [0, 1, 2], imageSize: SIZE, out });
      return out;
    };
    assert.deepEqual(run(11), run(11));
    assert.notDeepEqual(run(11), run(12));
  });

  it('in place, depends only on the augmenter and batch seeds', () => {
    const augmenter = createAugmenter({ seed: 3 });
    const a = sourceImages();
    const b = sourceImages();
    augmenter.inPlace({ pixels: a, count: 3, imageSize: SIZE, seed: 99 });
    createAugmenter({ seed: 3 }).inPlace({ pixels: b, count: 3, imageSize: SIZE, seed: 99 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, sourceImages());
  });

  it('in place, augments parts of a batch (from their first image on) as the whole batch', () => {
    const whole = new Uint8Array(5 * AREA);
    whole.set(sourceImages());
    whole.set(sourceImages().subarray(0, 2 * AREA), 3 * AREA);
    const parts = whole.slice();
    const augmenter = createAugmenter({ seed: 3 });
    augmenter.inPlace({ pixels: whole, count: 5, imageSize: SIZE, seed: 7 });
    augmenter.inPlace({ pixels: parts.subarray(0, 3 * AREA), count: 3, imageSize: SIZE, seed: 7 });
    augmenter.inPlace({ pixels: parts.subarray(3 * AREA), count: 2, imageSize: SIZE, seed: 7, first: 3 });
    assert.deepEqual(parts, whole);
  });

  it('is the identity when every range is 0 (bytes and floats)', () => {
    const src = sourceImages();
    const augmenter = createAugmenter({ seed: 5, ...NO_JITTER });
    const bytes = new Uint8Array(2 * AREA);
    const floats = new Float32Array(2 * AREA);
    augmenter.augmentBatch({ src, indices: [2, 0], imageSize: SIZE, out: bytes });
    augmenter.augmentBatch({ src, indices: [2, 0], imageSize: SIZE, out: floats });
    const expected = [...src.subarray(2 * AREA, 3 * AREA), ...src.subarray(0, AREA)];
    assert.deepEqual([...bytes], expected);
    assert.deepEqual([...floats], expected);
  });

  it('keeps output in [0, 255] under strong jitter', () => {
    const src = sourceImages();
    const out = new Float32Array(3 * AREA);
    const augmenter = createAugmenter({
      seed: 8,
      rotationDegrees: 45,
      scale: 0.5,
      brightness: 0.9,
      contrast: 0.9,
    });
    for (let round = 0; round < 5; round++) {
      augmenter.augmentBatch({ src, indices: [0, 1, 2], imageSize: SIZE, out });
      for (const v of out) assert.ok(v >= 0 && v <= 255 && Number.isFinite(v), `value ${v} out of range`);
    }
  });

  it('shifts content by the drawn number of pixels', () => {
    const src = sourceImages();
    const base = { ...NO_JITTER, shift: 0.2, fill: 'black' as const };
    // Without a batch seed the first image's parameters are the first draw from seededRandom(seed); take the
    // first seed whose draw moves the square by more than 2 pixels on both axes.
    const draw = (seed: number) => createAugmenter({ seed, ...base }).drawParams(seededRandom(seed), SIZE);
    let seed = 1;
    while (Math.abs(draw(seed).shiftX) < 2 || Math.abs(draw(seed).shiftY) < 2) seed++;
    const drawn = draw(seed);
    const augmenter = createAugmenter({ seed, ...base });
    const out = new Uint8Array(AREA);
    augmenter.augmentBatch({ src, indices: [1], imageSize: SIZE, out });
    const before = centroid(src, AREA);
    const after = centroid(out, 0);
    assert.ok(
      Math.abs(after.x - before.x - drawn.shiftX) < 0.5,
      `x moved ${after.x - before.x}, drew ${drawn.shiftX}`,
    );
    assert.ok(
      Math.abs(after.y - before.y - drawn.shiftY) < 0.5,
      `y moved ${after.y - before.y}, drew ${drawn.shiftY}`,
    );
  });

  it('rejects bad options and indices with clear messages', () => {
    assert.throws(() => createAugmenter({ seed: 1, rotationDegrees: -1 }), /rotationDegrees/);
    assert.throws(() => createAugmenter({ seed: 1, scale: 1.5 }), /scale/);
    const augmenter = createAugmenter({ seed: 1 });
    assert.throws(
      () =>
        augmenter.augmentBatch({
          src: sourceImages(),
          indices: [3],
          imageSize: SIZE,
          out: new Uint8Array(AREA),
        }),
      /outside the source/,
    );
  });
});

describe('strong augmentation', () => {
  it('is deterministic for a seed, changes pixels and keeps them in range', () => {
    const src = sourceImages();
    const run = (seed: number) => {
      const out = new Uint8Array(3 * AREA);
      createAugmenter({ ...AUGMENTATION_PRESETS.strong, seed }).augmentBatch({
        src,
        indices: [0, 1, 2],
        imageSize: SIZE,
        out,
        seed: 9,
      });
      return out;
    };
    assert.deepEqual(run(1), run(1));
    assert.notDeepEqual(run(1), run(2));
    assert.notDeepEqual(run(1), src);
  });

  it('draws zoom log-uniformly inside its range and photometric parameters inside theirs', () => {
    const augmenter = createAugmenter({ ...AUGMENTATION_PRESETS.strong, seed: 3 });
    const random = seededRandom(11);
    const zooms: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = augmenter.drawParams(random, SIZE);
      assert.ok(p.zoom >= 0.8 && p.zoom <= 1.45, `zoom ${p.zoom}`);
      assert.ok(p.gamma >= 1 / 1.6 - 1e-9 && p.gamma <= 1.6 + 1e-9, `gamma ${p.gamma}`);
      assert.ok(Math.abs(p.sharpness) <= 0.8 && p.noise >= 0 && p.noise <= 6);
      zooms.push(p.zoom);
    }
    // Log-uniform: the geometric mean of the range is the median.
    zooms.sort((a, b) => a - b);
    const median = zooms[zooms.length / 2];
    assert.ok(Math.abs(median - Math.sqrt(0.8 * 1.45)) < 0.03, `median zoom ${median}`);
  });

  it('leaves mild settings drawing exactly what they drew before the photometric options existed', () => {
    const mild = createAugmenter({ seed: 5 });
    const p = mild.drawParams(seededRandom(1), SIZE);
    assert.equal(p.gamma, 1);
    assert.equal(p.sharpness, 0);
    assert.equal(p.noise, 0);
    // Six draws only: the seventh number of the stream is still unused.
    const random = seededRandom(1);
    mild.drawParams(random, SIZE);
    const reference = seededRandom(1);
    for (let i = 0; i < 6; i++) reference();
    assert.equal(random(), reference());
  });

  it('rejects a zoom range that is empty or not positive, and gamma below 1', () => {
    assert.throws(() => createAugmenter({ seed: 1, zoomRange: [1.2, 1.1] }), /zoomRange/);
    assert.throws(() => createAugmenter({ seed: 1, zoomRange: [0, 1.1] }), /zoomRange/);
    assert.throws(() => createAugmenter({ seed: 1, gamma: 0.5 }), /gamma/);
  });
});
