import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confusionAt, ratesFrom } from '../../src/metrics/confusion.ts';
import { chooseThreshold, THRESHOLD_RULES, thresholdRuleByName } from '../../src/metrics/threshold.ts';

// Negatives 0.1, 0.2, 0.6; positives 0.4, 0.7, 0.8, 0.9.
const labels = [0, 0, 0, 1, 1, 1, 1];
const probabilities = [0.1, 0.2, 0.6, 0.4, 0.7, 0.8, 0.9];

describe('chooseThreshold', () => {
  it('sens95: highest specificity keeping every positive, midway in the gap', () => {
    const chosen = chooseThreshold(labels, probabilities, THRESHOLD_RULES.sens95);
    // All 4 positives need t <= 0.4; specificity is best (2/3) for t in (0.2, 0.4].
    assert.ok(Math.abs(chosen.threshold - 0.3) < 1e-12);
    assert.equal(chosen.sensitivity, 1);
    assert.equal(chosen.specificity, 2 / 3);
    assert.equal(chosen.rule, 'max-specificity@sensitivity>=0.95');
  });

  it('youden: maximises sensitivity + specificity - 1', () => {
    const chosen = chooseThreshold(labels, probabilities, thresholdRuleByName('youden'));
    // Best J = 0.75 + 1 - 1 at t in (0.6, 0.7].
    assert.ok(Math.abs(chosen.threshold - 0.65) < 1e-12);
    assert.equal(chosen.sensitivity, 0.75);
    assert.equal(chosen.specificity, 1);
  });

  it('reproduces its own validation counts', () => {
    const chosen = chooseThreshold(labels, probabilities, { kind: 'sensitivity', minSensitivity: 0.7 });
    const r = ratesFrom(confusionAt(labels, probabilities, chosen.threshold));
    assert.equal(r.sensitivity, chosen.sensitivity);
    assert.equal(r.specificity, chosen.specificity);
    assert.ok(chosen.sensitivity >= 0.7);
  });

  it('rejects unknown rule names and one-class data', () => {
    assert.throws(() => thresholdRuleByName('f1'), /unknown threshold rule "f1"; known: sens95, youden/);
    assert.deepEqual(thresholdRuleByName('sens=0.97'), { kind: 'sensitivity', minSensitivity: 0.97 });
    assert.deepEqual(thresholdRuleByName('sens=1'), { kind: 'sensitivity', minSensitivity: 1 });
    assert.throws(() => thresholdRuleByName('sens=1.5'), /must be in \(0, 1\]/);
    assert.throws(() => thresholdRuleByName('sens=abc'), /unknown threshold rule/);
    assert.throws(() => chooseThreshold([1, 1], [0.3, 0.4], THRESHOLD_RULES.youden), /both classes/);
  });
});
