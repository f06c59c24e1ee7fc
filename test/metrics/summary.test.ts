import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeMetrics, metricWarnings } from '../../src/metrics/summary.ts';

const labels = [0, 0, 0, 1, 1, 1, 1];
const probabilities = [0.1, 0.2, 0.6, 0.4, 0.7, 0.8, 0.9];

const BLOCK_KEYS = [
  'n',
  'threshold',
  'accuracy',
  'sensitivity',
  'specificity',
  'precision',
  'npv',
  'f1',
  'rocAuc',
  'prAuc',
  'logLoss',
  'brier',
  'ece',
  'confusion',
  'ci95',
];

describe('computeMetrics', () => {
  const metrics = computeMetrics({ labels, probabilities, threshold: 0.65, bootstrapSamples: 200, seed: 1 });

  it('has the metrics.json keys in order, with the 0.5 block under atHalf', () => {
    assert.deepEqual(Object.keys(metrics), [...BLOCK_KEYS, 'atHalf']);
    assert.deepEqual(Object.keys(metrics.atHalf), BLOCK_KEYS);
    assert.deepEqual(Object.keys(metrics.ci95), ['accuracy', 'sensitivity', 'specificity', 'rocAuc']);
  });

  it('measures at the given threshold and at 0.5', () => {
    assert.equal(metrics.n, 7);
    assert.deepEqual(metrics.confusion, { tp: 3, fp: 0, tn: 3, fn: 1 });
    assert.equal(metrics.atHalf.threshold, 0.5);
    assert.deepEqual(metrics.atHalf.confusion, { tp: 3, fp: 1, tn: 2, fn: 1 });
    assert.equal(metrics.rocAuc, metrics.atHalf.rocAuc);
    assert.equal(metrics.rocAuc, 11 / 12);
    for (const [lo, hi] of Object.values(metrics.ci95)) assert.ok(lo <= hi);
  });

  it('reports undefined metrics as null in JSON, with a warning, for one-class data', () => {
    const oneClass = computeMetrics({ labels: [1, 1, 1], probabilities: [0.2, 0.7, 0.9], threshold: 0.5 });
    const json = JSON.parse(JSON.stringify(oneClass));
    assert.equal(json.rocAuc, null);
    assert.equal(json.specificity, null);
    assert.equal(json.sensitivity, 2 / 3);
    assert.deepEqual(json.ci95.specificity, [null, null]);
    assert.match(metricWarnings([1, 1, 1]).join(), /no NORMAL images/);
    assert.deepEqual(metricWarnings(labels), []);
  });

  it('refuses an empty set', () => {
    assert.throws(() => computeMetrics({ labels: [], probabilities: [], threshold: 0.5 }), /no samples/);
  });
});
