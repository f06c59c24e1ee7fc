import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UndefinedMetricError } from '../../src/metrics/errors.ts';
import { averagePrecision, prCurve } from '../../src/metrics/pr.ts';

// Positives score {0.9, 0.5, 0.7}, negatives {0.5, 0.1, 0.7}: two tied pairs.
const labels = [1, 1, 0, 0, 1, 0];
const scores = [0.9, 0.5, 0.5, 0.1, 0.7, 0.7];

describe('average precision (PR-AUC)', () => {
  it('sums precision x recall gained over distinct thresholds', () => {
    const curve = prCurve(labels, scores);
    assert.deepEqual(curve.recall, [1 / 3, 2 / 3, 1, 1]);
    assert.deepEqual(curve.precision, [1, 2 / 3, 3 / 5, 1 / 2]);
    assert.ok(Math.abs(averagePrecision(labels, scores) - 34 / 45) < 1e-12);
  });

  it('is 1 for a perfect ranking', () => {
    assert.equal(averagePrecision([0, 1, 1], [0.1, 0.8, 0.9]), 1);
  });

  it('refuses data without positives', () => {
    assert.throws(() => averagePrecision([0, 0], [0.1, 0.2]), UndefinedMetricError);
  });
});
