import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import {
  brierScore,
  expectedCalibrationError,
  fitPlatt,
  fitTemperature,
  logLoss,
  probabilityToLogit,
  reliabilityBins,
  TEMPERATURE_RANGE,
  temperatureNll,
} from '../../src/metrics/calibration.ts';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe('log-loss and Brier score', () => {
  it('match hand-computed values', () => {
    close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
    close(brierScore([1, 0], [0.8, 0.4]), (0.04 + 0.16) / 2);
  });

  it('clip certain mistakes to a finite cost', () => {
    close(logLoss([0, 1], [1, 0]), -Math.log(1e-7), 1e-6);
  });
});

describe('reliability bins and ECE', () => {
  const labels = [1, 0, 1, 1];
  const probabilities = [0.05, 0.15, 0.95, 1];

  it('puts p = 1 in the last of 10 bins', () => {
    const bins = reliabilityBins(labels, probabilities);
    assert.equal(bins.length, 10);
    assert.deepEqual(
      bins.map((b) => b.count),
      [1, 1, 0, 0, 0, 0, 0, 0, 0, 2],
    );
    close(bins[9].meanProbability, 0.975);
    assert.equal(bins[9].positiveFraction, 1);
    assert.ok(Number.isNaN(bins[4].meanProbability));
  });

  it('weights each bin gap by its share of samples', () => {
    // |0.05 - 1| + |0.15 - 0| + 2 x |0.975 - 1|, over 4 samples.
    close(expectedCalibrationError(labels, probabilities), (0.95 + 0.15 + 0.05) / 4);
  });
});

describe('fitTemperature', () => {
  it('recovers the temperature of over-confident logits', () => {
    const random = seededRandom(7);
    const labels: number[] = [];
    const logits: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const trueLogit = (random() - 0.5) * 8;
      labels.push(random() < 1 / (1 + Math.exp(-trueLogit)) ? 1 : 0);
      logits.push(2.5 * trueLogit);
    }
    const t = fitTemperature(labels, logits);
    assert.ok(Math.abs(t - 2.5) < 0.15, `fitted ${t}`);
    const nll = temperatureNll(labels, logits, t);
    assert.ok(nll <= temperatureNll(labels, logits, t * 1.05));
    assert.ok(nll <= temperatureNll(labels, logits, t / 1.05));
  });

  it('clamps to the range on perfectly separated data', () => {
    const t = fitTemperature([0, 1], [probabilityToLogit(0.3), probabilityToLogit(0.7)]);
    assert.equal(t, TEMPERATURE_RANGE[0]);
  });
});

describe('fitPlatt', () => {
  it('recovers the slope and intercept that generated the labels', () => {
    const random = seededRandom(11);
    const logits: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const z = (random() - 0.5) * 12;
      logits.push(z);
      labels.push(random() < 1 / (1 + Math.exp(-(0.5 * z - 1))) ? 1 : 0);
    }
    const { a, b } = fitPlatt(labels, logits);
    close(a, 0.5, 0.03);
    close(b, -1, 0.06);
  });

  it('stays finite on separable data and keeps the ranking', () => {
    const { a, b } = fitPlatt([0, 0, 0, 1, 1, 1], [-3, -2, -1, 1, 2, 3]);
    assert.ok(Number.isFinite(a) && Number.isFinite(b) && a > 0, `${a}, ${b}`);
  });

  it('moves the intercept when the share of positives differs from what the scores say', () => {
    // Scores say 50% everywhere; two thirds are positive: b ≈ log(2), shrunk a little by the smoothed targets.
    const { b } = fitPlatt([1, 1, 0, 1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const high = 7 / 8;
    const low = 1 / 5;
    const expected = (6 * high + 3 * low) / 9;
    close(b, Math.log(expected / (1 - expected)), 1e-6);
  });
});
