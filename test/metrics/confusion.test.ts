import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confusionAt, ratesFrom } from '../../src/metrics/confusion.ts';

// Negatives 0.1, 0.2, 0.6; positives 0.4, 0.7, 0.8, 0.9.
const labels = [0, 0, 0, 1, 1, 1, 1];
const probabilities = [0.1, 0.2, 0.6, 0.4, 0.7, 0.8, 0.9];

describe('confusion matrix and rates', () => {
  it('calls p >= threshold positive', () => {
    assert.deepEqual(confusionAt(labels, probabilities, 0.65), { tp: 3, fp: 0, tn: 3, fn: 1 });
    assert.deepEqual(confusionAt(labels, probabilities, 0.6), { tp: 3, fp: 1, tn: 2, fn: 1 });
  });

  it('derives the rates by hand-checked formulas', () => {
    const r = ratesFrom({ tp: 3, fp: 0, tn: 3, fn: 1 });
    assert.equal(r.accuracy, 6 / 7);
    assert.equal(r.sensitivity, 3 / 4);
    assert.equal(r.specificity, 1);
    assert.equal(r.precision, 1);
    assert.equal(r.npv, 3 / 4);
    assert.equal(r.f1, 6 / 7);
  });

  it('gives NaN, not a number, for rates with an empty denominator', () => {
    const r = ratesFrom({ tp: 2, fp: 0, tn: 0, fn: 0 });
    assert.ok(Number.isNaN(r.specificity));
    assert.ok(Number.isNaN(r.npv));
    assert.equal(r.sensitivity, 1);
  });
});
