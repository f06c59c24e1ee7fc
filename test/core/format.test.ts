import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  flagText,
  formatProbability,
  formatRate,
  isFlagged,
  thresholdSentence,
} from '../../src/core/format.ts';

test('probabilities never read as certainty at the ends', () => {
  assert.equal(formatProbability(0.99997), '>99%');
  assert.equal(formatProbability(1), '>99%');
  assert.equal(formatProbability(0.004), '<1%');
  assert.equal(formatProbability(0), '<1%');
  assert.equal(formatProbability(0.8312), '83.1%');
  assert.equal(formatProbability(0.99), '99.0%');
  assert.equal(formatProbability(0.01), '1.0%');
  assert.equal(formatProbability(Number.NaN), '—');
});

test('measured rates may be exactly 100%', () => {
  assert.equal(formatRate(1), '100%');
  assert.equal(formatRate(0.951), '95.1%');
  assert.equal(formatRate(0), '0%');
});

test('the threshold decision and sentence', () => {
  assert.equal(flagText(true), 'Flagged');
  assert.equal(flagText(false), 'Not flagged');
  assert.equal(isFlagged(0.659, 0.659), true);
  assert.equal(isFlagged(0.6589, 0.659), false);
  assert.equal(
    thresholdSentence(0.6591777, 0.951),
    'Flagged at ≥ 65.9%. On validation images this caught 95% of pneumonia.',
  );
  assert.equal(thresholdSentence(0.5), 'Flagged at ≥ 50.0%.');
});
