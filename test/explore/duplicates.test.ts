import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  differenceHash,
  exactDuplicates,
  type HashedImage,
  hammingDistance,
  nearDuplicates,
} from '../../src/explore/duplicates.ts';

function image(
  path: string,
  sha256: string,
  split: 'train' | 'test' = 'train',
  label = 'NORMAL',
): HashedImage {
  return { path, sha256, split, label: label as HashedImage['label'] };
}

/** A 32 x 32 test picture: a horizontal gradient plus a bright square at (x0, y0). */
function picture(x0: number, y0: number, noise = 0): Uint8Array {
  const data = new Uint8Array(32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const inSquare = x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8;
      const jitter = noise ? ((x * 31 + y * 17) % 3) - 1 : 0;
      data[y * 32 + x] = Math.max(0, Math.min(255, (inSquare ? 230 : x * 4) + jitter * noise));
    }
  }
  return data;
}

test('exact duplicates group identical hashes and flag splits and labels', () => {
  const groups = exactDuplicates([
    image('/d/train/NORMAL/b.jpeg', 'h1'),
    image('/d/test/NORMAL/a.jpeg', 'h1', 'test'),
    image('/d/train/NORMAL/c.jpeg', 'h2'),
    image('/d/train/NORMAL/d.jpeg', 'h3'),
    image('/d/train/PNEUMONIA/d2.jpeg', 'h3', 'train', 'PNEUMONIA'),
    image('/d/train/PNEUMONIA/d3.jpeg', 'h3', 'train', 'PNEUMONIA'),
  ]);
  assert.equal(groups.length, 2);
  assert.deepEqual(
    groups[0].members.map((m) => m.path),
    ['/d/test/NORMAL/a.jpeg', '/d/train/NORMAL/b.jpeg'],
  );
  assert.deepEqual([groups[0].crossSplit, groups[0].labelConflict], [true, false]);
  assert.equal(groups[1].members.length, 3);
  assert.deepEqual([groups[1].crossSplit, groups[1].labelConflict], [false, true]);
});

test('difference hash: one bit per cell brighter than its right neighbour', () => {
  const falling = new Uint8Array(34 * 34);
  for (let y = 0; y < 34; y++) for (let x = 0; x < 34; x++) falling[y * 34 + x] = 255 - x * 7;
  const allSet = differenceHash(falling, 34, 16);
  assert.equal(allSet.length, 8);
  assert.ok(allSet.every((w) => w === 0xffffffff));
  const rising = Uint8Array.from(falling, (v) => 255 - v);
  assert.ok(differenceHash(rising, 34, 16).every((w) => w === 0));
  assert.equal(hammingDistance(allSet, differenceHash(rising, 34, 16)), 256);
});

test('near duplicates: a noisy copy is grouped, a different picture is not, exact copies are left out', () => {
  const images = [
    image('/d/train/a.jpeg', 'a'),
    image('/d/test/a-copy.jpeg', 'a-noisy', 'test'),
    image('/d/train/b.jpeg', 'b'),
    image('/d/train/b-same.jpeg', 'b'),
  ];
  const hashes = [picture(4, 4), picture(4, 4, 2), picture(20, 18), picture(20, 18)].map((p) =>
    differenceHash(p, 32),
  );
  assert.ok(hammingDistance(hashes[0], hashes[1]) <= 8);
  assert.ok(hammingDistance(hashes[0], hashes[2]) > 8);
  const result = nearDuplicates(images, hashes, { threshold: 8 });
  assert.equal(result.threshold, 8);
  assert.equal(result.groups.length, 1);
  assert.deepEqual(
    result.groups[0].members.map((m) => m.path),
    ['/d/test/a-copy.jpeg', '/d/train/a.jpeg'],
  );
  assert.equal(result.groups[0].crossSplit, true);
  assert.equal(result.nearestDistance.p1, hammingDistance(hashes[0], hashes[1]));
});
