import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stepsPerEpoch } from '../../src/train/loop.ts';
import { learningRateAt } from '../../src/train/schedule.ts';

describe('learningRateAt', () => {
  const schedule = { base: 1e-3, warmupSteps: 10, totalSteps: 110, finalFactor: 0.1 };

  it('warms up linearly to the base rate', () => {
    assert.equal(learningRateAt(schedule, 0), 1e-4);
    assert.equal(learningRateAt(schedule, 4), 5e-4);
    assert.equal(learningRateAt(schedule, 9), 1e-3);
  });

  it('then decays along a cosine to the final fraction', () => {
    assert.equal(learningRateAt(schedule, 10), 1e-3);
    const middle = learningRateAt(schedule, 60);
    assert.ok(Math.abs(middle - 1e-3 * (0.1 + 0.9 * 0.5)) < 1e-12);
    assert.ok(Math.abs(learningRateAt(schedule, 110) - 1e-4) < 1e-12);
    assert.ok(Math.abs(learningRateAt(schedule, 500) - 1e-4) < 1e-12);
    for (let s = 11; s < 110; s++) assert.ok(learningRateAt(schedule, s) <= learningRateAt(schedule, s - 1));
  });
});

describe('stepsPerEpoch', () => {
  it('drops a last batch smaller than half a batch', () => {
    assert.equal(stepsPerEpoch(100, 32), 3); // 4 left over: dropped
    assert.equal(stepsPerEpoch(120, 32), 4); // 24 left over: kept
    assert.equal(stepsPerEpoch(96, 32), 3);
    assert.equal(stepsPerEpoch(10, 32), 1); // never zero steps
  });
});
