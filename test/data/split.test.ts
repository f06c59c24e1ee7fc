import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ImageRecord } from '../../src/core/types.ts';
import { discoverDataset } from '../../src/data/discover.ts';
import {
  applySplitManifest,
  patientSplit,
  readSplitManifest,
  writeSplitManifest,
} from '../../src/data/split.ts';

const ROOT = '/data/xray';

/** A synthetic dataset shaped like the real one: ~26% NORMAL, 1-6 images per patient. */
function syntheticRecords(): ImageRecord[] {
  const records: ImageRecord[] = [];
  let n = 0;
  for (let p = 0; p < 900; p++) {
    const positive = p % 4 !== 0;
    const images = 1 + ((p * 7) % 6);
    for (let i = 0; i < images; i++) {
      const label = positive ? 'PNEUMONIA' : 'NORMAL';
      records.push({
        path: `${ROOT}/train/${label}/p${p}_${i}.jpeg`,
        split: 'train',
        label,
        labelIndex: positive ? 1 : 0,
        patientId: `p${p}`,
        subtype: positive ? 'bacteria' : null,
        size: 1000 + n++,
        mtimeMs: 0,
      });
    }
  }
  return records;
}

function positiveShare(records: ImageRecord[]): number {
  return records.filter((r) => r.labelIndex === 1).length / records.length;
}

function patients(records: ImageRecord[]): Set<string> {
  return new Set(records.map((r) => r.patientId));
}

test('no patient is on both sides and every record is used once', () => {
  const records = syntheticRecords();
  const { train, val } = patientSplit(records, { valFraction: 0.1, seed: 7 });
  const trainPatients = patients(train);
  for (const id of patients(val)) assert.ok(!trainPatients.has(id), `patient ${id} is on both sides`);
  assert.equal(train.length + val.length, records.length);
  assert.equal(new Set([...train, ...val].map((r) => r.path)).size, records.length);
});

test('both sides keep the class ratio within 2 points and val is about the requested fraction', () => {
  const records = syntheticRecords();
  const whole = positiveShare(records);
  for (const valFraction of [0.1, 0.2]) {
    for (const seed of [1, 42, 1234]) {
      const { train, val } = patientSplit(records, { valFraction, seed });
      assert.ok(Math.abs(positiveShare(val) - whole) <= 0.02, `val ratio ${positiveShare(val)} vs ${whole}`);
      assert.ok(Math.abs(positiveShare(train) - whole) <= 0.02);
      assert.ok(Math.abs(val.length / records.length - valFraction) <= 0.01, `val share ${val.length}`);
    }
  }
});

test('the split is deterministic for a seed, independent of input order, and changes with the seed', () => {
  const records = syntheticRecords();
  const a = patientSplit(records, { seed: 42 });
  const b = patientSplit([...records].reverse(), { seed: 42 });
  assert.deepEqual(
    a.val.map((r) => r.path),
    b.val.map((r) => r.path),
  );
  const c = patientSplit(records, { seed: 43 });
  assert.notDeepEqual(
    a.val.map((r) => r.path),
    c.val.map((r) => r.path),
  );
  assert.deepEqual(patientSplit(records).val, patientSplit(records, { valFraction: 0.1, seed: 42 }).val);
});

test('an invalid fraction is refused', () => {
  assert.throws(() => patientSplit(syntheticRecords(), { valFraction: 0 }), /between 0 and 1/);
  assert.throws(() => patientSplit(syntheticRecords(), { valFraction: 1.5 }), /between 0 and 1/);
});

test('the manifest round-trips with relative paths and rebuilds the same split', async () => {
  const records = syntheticRecords();
  const split = patientSplit(records, { valFraction: 0.15, seed: 3 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-split-'));
  try {
    const file = path.join(dir, 'sub', 'split.json');
    await writeSplitManifest(file, split, { root: ROOT, seed: 3, valFraction: 0.15 });
    const manifest = await readSplitManifest(file);
    assert.equal(manifest.seed, 3);
    assert.equal(manifest.valFraction, 0.15);
    assert.equal(manifest.val.length, split.val.length);
    assert.ok(manifest.train.every((p) => p.startsWith('train/')));
    assert.equal(manifest.counts.val.NORMAL + manifest.counts.val.PNEUMONIA, split.val.length);
    const rebuilt = applySplitManifest(manifest, records, ROOT);
    assert.deepEqual(rebuilt.val, split.val);
    assert.deepEqual(rebuilt.train, split.train);
    assert.throws(() => applySplitManifest(manifest, records.slice(10), ROOT), /missing from/);
    await assert.rejects(readSplitManifest(path.join(dir, 'none.json')), /cannot read split manifest/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('on the real training set: patient-disjoint and stratified within 2 points', async () => {
  const { records } = await discoverDataset('../shared/datasets/chest_xray');
  const { train, val } = patientSplit(records);
  const whole = positiveShare(records);
  assert.equal(records.length, 5216);
  assert.ok(Math.abs(positiveShare(val) - whole) <= 0.02);
  assert.ok(Math.abs(positiveShare(train) - whole) <= 0.02);
  const trainPatients = patients(train);
  assert.ok([...patients(val)].every((id) => !trainPatients.has(id)));
  assert.ok(Math.abs(val.length / records.length - 0.1) <= 0.01);
});

test('a scored design holds out the highest-scoring patients of each class, whole', () => {
  const records = syntheticRecords();
  // Score = the patient number: the highest-numbered patients of each class must go to validation.
  const scores = new Map(records.map((r) => [r.path, Number(r.patientId.slice(1))]));
  const split = patientSplit(records, { valFraction: 0.1, scores });
  const trainPatients = new Set(split.train.map((r) => r.patientId));
  for (const r of split.val) assert.ok(!trainPatients.has(r.patientId), 'patient-disjoint');
  for (const label of [0, 1]) {
    const val = split.val.filter((r) => r.labelIndex === label).map((r) => Number(r.patientId.slice(1)));
    const train = split.train.filter((r) => r.labelIndex === label).map((r) => Number(r.patientId.slice(1)));
    // Whole patients only: a patient that would overshoot the target may be skipped for a slightly lower one,
    // so held-out patients all come from the top of the ranking rather than strictly above every other.
    const all = [...val, ...train].sort((a, b) => a - b);
    assert.ok(
      Math.min(...val) > all[Math.floor(all.length * 0.85)],
      `label ${label}: held-out patients score high`,
    );
    const share = val.length / (val.length + train.length);
    assert.ok(share > 0.07 && share < 0.13, `label ${label} share ${share}`);
  }
  assert.deepEqual(
    patientSplit(records, { valFraction: 0.1, scores, seed: 1 }),
    split,
    'the seed plays no part',
  );
  assert.throws(() => patientSplit(records, { scores: new Map() }), /no score for/);
});
