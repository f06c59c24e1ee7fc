import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageRecord, SplitName, Subtype } from '../../src/core/types.ts';
import {
  dimensionStats,
  histogramBins,
  imageCounts,
  intensityStats,
  meanImages,
  patientStats,
  sampleIndices,
  subtypeCounts,
  summarize,
} from '../../src/explore/stats.ts';

function rec(
  split: SplitName,
  label: 'NORMAL' | 'PNEUMONIA',
  patientId: string,
  subtype: Subtype = null,
): ImageRecord {
  return {
    path: `/d/${split}/${label}/${patientId}-${Math.random()}.jpeg`,
    split,
    label,
    labelIndex: label === 'PNEUMONIA' ? 1 : 0,
    patientId,
    subtype,
    size: 1,
    mtimeMs: 1,
  };
}

const RECORDS = [
  rec('train', 'NORMAL', 'IM-1'),
  rec('train', 'NORMAL', 'IM-1'),
  rec('train', 'NORMAL', 'IM-2'),
  rec('test', 'NORMAL', 'IM-2'),
  rec('train', 'PNEUMONIA', 'person1', 'bacteria'),
  rec('train', 'PNEUMONIA', 'person1', 'virus'),
  rec('train', 'PNEUMONIA', 'person1', 'bacteria'),
  rec('test', 'PNEUMONIA', 'person2', 'virus'),
  rec('test', 'PNEUMONIA', 'x.jpeg'),
];

test('summaries and histogram bins', () => {
  assert.deepEqual(summarize([3, 1, 2, 10]), { min: 1, max: 10, mean: 4, median: 2.5 });
  assert.ok(Number.isNaN(summarize([]).mean));
  const bins = histogramBins([0, 1, 2, 3, 4, 10], 5);
  assert.deepEqual(
    bins.map((b) => b.count),
    [2, 2, 1, 0, 1],
  );
  assert.equal(bins[4].end, 10);
  assert.deepEqual(histogramBins([224, 224], 10), [{ start: 223.5, end: 224.5, count: 2 }]);
});

test('image counts, patients, images per patient, cross-split patients and subtypes', () => {
  assert.deepEqual(imageCounts(RECORDS), {
    train: { NORMAL: 3, PNEUMONIA: 3 },
    test: { NORMAL: 1, PNEUMONIA: 2 },
  });
  const p = patientStats(RECORDS);
  assert.deepEqual(p.bySplit, { train: { NORMAL: 2, PNEUMONIA: 1 }, test: { NORMAL: 1, PNEUMONIA: 2 } });
  assert.deepEqual(p.total, { NORMAL: 2, PNEUMONIA: 3 });
  assert.deepEqual(p.imagesPerPatient.NORMAL, [{ images: 2, patients: 2 }]);
  assert.deepEqual(p.imagesPerPatient.PNEUMONIA, [
    { images: 1, patients: 2 },
    { images: 3, patients: 1 },
  ]);
  assert.equal(p.imagesPerPatientSummary.PNEUMONIA.max, 3);
  assert.deepEqual(p.crossSplit, [{ patientId: 'IM-2', splits: ['train', 'test'] }]);
  assert.deepEqual(subtypeCounts(RECORDS), {
    train: { bacteria: 2, virus: 1, unknown: 0 },
    test: { bacteria: 0, virus: 1, unknown: 1 },
  });
});

test('dimensions, intensity histograms and mean images per class', () => {
  const records = [rec('train', 'NORMAL', 'a'), rec('train', 'NORMAL', 'b'), rec('train', 'PNEUMONIA', 'c')];
  const info = [
    { width: 100, height: 50, format: 'jpeg', sha256: '1', colourfulness: 0 },
    { width: 300, height: 150, format: 'jpeg', sha256: '2', colourfulness: 0 },
    { width: 200, height: 200, format: 'png', sha256: '3', colourfulness: 0 },
  ];
  const dims = dimensionStats(records, info);
  assert.deepEqual(dims.byClass.NORMAL.aspect, [2, 2]);
  assert.deepEqual(dims.width, { min: 100, max: 300, mean: 200, median: 200 });
  // Three 2 x 2 images.
  const pixels = Uint8Array.from([0, 0, 10, 10, 20, 20, 30, 30, 255, 255, 255, 255]);
  const intensity = intensityStats(records, pixels, 2);
  assert.equal(intensity.NORMAL.images, 2);
  assert.equal(intensity.NORMAL.mean, 15);
  assert.equal(intensity.NORMAL.histogram[10], 2);
  assert.equal(intensity.PNEUMONIA.histogram[255], 4);
  assert.equal(intensity.PNEUMONIA.std, 0);
  const means = meanImages(records, pixels, 2);
  assert.deepEqual(Array.from(means.NORMAL ?? []), [10, 10, 20, 20]);
  assert.deepEqual(Array.from(means.PNEUMONIA ?? []), [255, 255, 255, 255]);
  assert.equal(meanImages(records.slice(0, 2), pixels, 2).PNEUMONIA, null);
});

test('samples are per class, capped, reproducible for a seed', () => {
  const a = sampleIndices(RECORDS, 2, 7);
  assert.equal(a.NORMAL.length, 2);
  assert.ok(a.NORMAL.every((i) => RECORDS[i].label === 'NORMAL'));
  assert.ok(a.PNEUMONIA.every((i) => RECORDS[i].label === 'PNEUMONIA'));
  assert.deepEqual(sampleIndices(RECORDS, 2, 7), a);
  assert.equal(sampleIndices(RECORDS, 50).PNEUMONIA.length, 5);
});
