import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossValidate, fitSite, measureHeldOut, patientFolds } from '../../src/calibrate/fit.ts';
import { seededRandom } from '../../src/core/random.ts';
import { thresholdRuleByName } from '../../src/metrics/threshold.ts';

/** Raw outputs of a model that ranks well but is over-confident and biased towards PNEUMONIA. */
function site(n: number, seed: number): { labels: number[]; raw: number[]; patients: string[] } {
  const random = seededRandom(seed);
  const labels: number[] = [];
  const raw: number[] = [];
  const patients: string[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 5 < 3 ? 1 : 0;
    const logit = 3 * (y === 1 ? 1.2 : -0.4) + 3 * (random() - 0.5) * 2;
    labels.push(y);
    raw.push(1 / (1 + Math.exp(-logit)));
    patients.push(`p${Math.floor(i / 2)}`);
  }
  return { labels, raw, patients };
}

describe('patientFolds', () => {
  it('keeps a patient in one fold, uses every fold and repeats for a seed', () => {
    const ids = ['a', 'a', 'b', 'c', 'c', 'c', 'd', 'e', 'f', 'f'];
    const folds = patientFolds(ids, 3, 7);
    ids.forEach((id, i) => {
      ids.forEach((other, j) => {
        if (id === other) assert.equal(folds[i], folds[j]);
      });
    });
    assert.deepEqual([...new Set(folds)].sort(), [0, 1, 2]);
    assert.deepEqual(patientFolds(ids, 3, 7), folds);
  });
});

describe('fitSite and crossValidate', () => {
  const data = site(400, 1);
  const rule = thresholdRuleByName('sens95');

  it('meets the threshold rule on the fitting images, for both methods', () => {
    for (const method of ['temperature', 'platt'] as const) {
      const fit = fitSite(data.labels, data.raw, { method, rule });
      assert.equal(fit.calibration.method, method);
      assert.ok(fit.threshold.sensitivity >= 0.95);
      const again = measureHeldOut(data.labels, data.raw, fit);
      assert.equal(again.sensitivity, fit.threshold.sensitivity);
      assert.equal(again.specificity, fit.threshold.specificity);
    }
  });

  it('Platt calibrates better than a temperature when the model is biased (lower ECE on new images)', () => {
    const fresh = site(4000, 2);
    const ece = (method: 'temperature' | 'platt') =>
      measureHeldOut(fresh.labels, fresh.raw, fitSite(data.labels, data.raw, { method, rule })).ece;
    assert.ok(ece('platt') < ece('temperature'), `${ece('platt')} vs ${ece('temperature')}`);
  });

  it('estimates out-of-fold: every image measured once, with Wilson intervals on the summed counts', () => {
    const cv = crossValidate(data.labels, data.raw, data.patients, {
      method: 'platt',
      rule,
      folds: 4,
      seed: 3,
    });
    assert.equal(cv.n, 400);
    const c = cv.confusion;
    assert.equal(c.tp + c.fn + c.tn + c.fp, 400);
    assert.equal(cv.sensitivity, c.tp / (c.tp + c.fn));
    assert.ok(cv.ci95.sensitivity[0] < cv.sensitivity && cv.sensitivity < cv.ci95.sensitivity[1]);
    assert.ok(cv.ece > 0 && cv.ece < 0.2);
  });
});
