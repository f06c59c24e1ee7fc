import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ImageRecord } from '../../src/core/types.ts';
import { dataFingerprint } from '../../src/data/fingerprint.ts';

function record(root: string, relative: string, size: number, labelIndex: 0 | 1): ImageRecord {
  return {
    path: `${root}/${relative}`,
    split: 'train',
    label: labelIndex === 1 ? 'PNEUMONIA' : 'NORMAL',
    labelIndex,
    patientId: relative,
    subtype: null,
    size,
    mtimeMs: 123,
  };
}

test('the fingerprint hashes sorted relative paths and sizes and counts classes', () => {
  const records = [record('/a', 'train/PNEUMONIA/y.jpeg', 20, 1), record('/a', 'train/NORMAL/x.jpeg', 10, 0)];
  const expected = createHash('sha256')
    .update('train/NORMAL/x.jpeg\t10\ntrain/PNEUMONIA/y.jpeg\t20')
    .digest('hex');
  assert.deepEqual(dataFingerprint(records, '/a'), {
    count: 2,
    sha256: expected,
    classCounts: { NORMAL: 1, PNEUMONIA: 1 },
  });
});

test('the fingerprint ignores order and location but not content changes', () => {
  const here = [record('/a', 'x.jpeg', 10, 0), record('/a', 'y.jpeg', 20, 1)];
  const moved = [record('/b/c', 'y.jpeg', 20, 1), record('/b/c', 'x.jpeg', 10, 0)];
  assert.equal(dataFingerprint(here, '/a').sha256, dataFingerprint(moved, '/b/c').sha256);
  const resized = [record('/a', 'x.jpeg', 11, 0), record('/a', 'y.jpeg', 20, 1)];
  assert.notEqual(dataFingerprint(here, '/a').sha256, dataFingerprint(resized, '/a').sha256);
});
