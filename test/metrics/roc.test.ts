import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UndefinedMetricError } from '../../src/metrics/errors.ts';
import { rocAuc, rocCurve } from '../../src/metrics/roc.ts';

// Positives score {0.9, 0.5, 0.7}, negatives {0.5, 0.1, 0.7}: two tied pairs.
const labels = [1, 1, 0, 0, 1, 0];
const scores = [0.9, 0.5, 0.5, 0.1, 0.7, 0.7];

function trapezoid(x: number[], y: number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return area;
}

describe('rocAuc', () => {
  it('counts tied positive/negative pairs as one half', () => {
    // Pairs won: 0.9 beats 3; 0.5 beats 0.1 and ties 0.5; 0.7 beats 0.5 and 0.1 and ties 0.7 -> 7 of 9.
    assert.ok(Math.abs(rocAuc(labels, scores) - 7 / 9) < 1e-12);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one and 0.5 when all scores tie', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
    assert.equal(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
    assert.equal(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  });

  it('equals the trapezoid area under its own ROC curve', () => {
    const curve = rocCurve(labels, scores);
    assert.deepEqual(curve.fpr, [0, 0, 1 / 3, 2 / 3, 1]);
    assert.deepEqual(curve.tpr, [0, 1 / 3, 2 / 3, 1, 1]);
    assert.equal(curve.thresholds[0], Number.POSITIVE_INFINITY);
    assert.deepEqual(curve.thresholds.slice(1), [0.9, 0.7, 0.5, 0.1]);
    assert.ok(Math.abs(trapezoid(curve.fpr, curve.tpr) - rocAuc(labels, scores)) < 1e-12);
  });

  it('refuses a single class with a clear error', () => {
    assert.throws(() => rocAuc([1, 1], [0.2, 0.3]), UndefinedMetricError);
    assert.throws(() => rocAuc([1, 1], [0.2, 0.3]), /both classes.*2 positive and 0 negative/);
    assert.throws(() => rocAuc([], []), /no samples/);
  });

  it('refuses mismatched lengths, non-binary labels and non-finite scores', () => {
    assert.throws(() => rocAuc([0, 1], [0.5]), /2 labels but 1 scores/);
    assert.throws(() => rocAuc([0, 2], [0.5, 0.5]), /label 1 is 2/);
    assert.throws(() => rocAuc([0, 1], [0.5, Number.NaN]), /score 1 is NaN/);
  });
});
