import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aucScoreInterval, isDegenerate, wilsonInterval } from '../../src/metrics/intervals.ts';
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
  'ciMethod',
];

describe('computeMetrics', () => {
  const metrics = computeMetrics({ labels, probabilities, threshold: 0.65, bootstrapSamples: 200, seed: 1 });

  it('has the metrics.json keys in order, with the 0.5 block under atHalf', () => {
    assert.deepEqual(Object.keys(metrics), [...BLOCK_KEYS, 'atHalf']);
    assert.deepEqual(Object.keys(metrics.atHalf), BLOCK_KEYS);
    assert.deepEqual(Object.keys(metrics.ci95), [
      'accuracy',
      'sensitivity',
      'specificity',
      'precision',
      'npv',
      'rocAuc',
    ]);
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

  it('gives Wilson intervals for proportions: positive width at a specificity of 1', () => {
    // Specificity 3/3 at 0.65: a bootstrap would say [1, 1].
    assert.equal(metrics.specificity, 1);
    assert.deepEqual(metrics.ci95.specificity, wilsonInterval(3, 3));
    assert.ok(metrics.ci95.specificity[0] < 0.5);
    assert.deepEqual(metrics.ci95.sensitivity, wilsonInterval(3, 4));
    assert.deepEqual(metrics.ci95.precision, wilsonInterval(3, 3));
    assert.deepEqual(metrics.ci95.npv, wilsonInterval(3, 4));
    assert.deepEqual(metrics.ciMethod, { proportions: 'wilson', rocAuc: 'stratified-bootstrap' });
  });

  it('never reports a zero-width ROC-AUC interval when the bootstrap collapses', () => {
    const separated = computeMetrics({
      labels: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
      probabilities: [0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.8, 0.9, 0.95],
      threshold: 0.5,
      bootstrapSamples: 200,
    });
    assert.equal(separated.rocAuc, 1);
    assert.deepEqual(separated.ci95.rocAuc, aucScoreInterval(1, 6, 5));
    assert.equal(separated.ciMethod.rocAuc, 'hanley-mcneil-score');
    for (const block of [separated, separated.atHalf]) {
      for (const interval of Object.values(block.ci95)) assert.ok(!isDegenerate(interval), `${interval}`);
    }
  });

  it('uses the score interval for ROC-AUC when the bootstrap is skipped', () => {
    const quick = computeMetrics({ labels, probabilities, threshold: 0.65, bootstrapSamples: 0 });
    assert.deepEqual(quick.ci95.rocAuc, aucScoreInterval(11 / 12, 4, 3));
    assert.equal(quick.ciMethod.rocAuc, 'hanley-mcneil-score');
  });

  it('refuses an empty set', () => {
    assert.throws(() => computeMetrics({ labels: [], probabilities: [], threshold: 0.5 }), /no samples/);
  });
});
