import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkBinaryInput,
  orNaN,
  requireBothClasses,
  UndefinedMetricError,
} from '../../src/metrics/errors.ts';

describe('metric input checks', () => {
  it('accepts binary labels with finite scores of the same length', () => {
    assert.doesNotThrow(() => checkBinaryInput([0, 1, 1], [0.2, 0.9, 1], 'test'));
  });

  it('names the metric and the problem', () => {
    assert.throws(() => checkBinaryInput([0, 1], [0.5], 'AUC'), /AUC: 2 labels but 1 scores/);
    assert.throws(() => checkBinaryInput([], [], 'AUC'), UndefinedMetricError);
    assert.throws(() => checkBinaryInput([0, 3], [0.1, 0.2], 'AUC'), /AUC: label 1 is 3/);
    assert.throws(
      () => checkBinaryInput([0, 1], [0.1, Number.POSITIVE_INFINITY], 'AUC'),
      /score 1 is Infinity/,
    );
  });

  it('counts both classes, and refuses one-class labels as an undefined metric', () => {
    assert.deepEqual(requireBothClasses([0, 1, 1], 'AUC'), { pos: 2, neg: 1 });
    assert.throws(() => requireBothClasses([0, 0], 'AUC'), UndefinedMetricError);
    assert.throws(() => requireBothClasses([1], 'AUC'), /AUC needs both classes.*1 positive and 0 negative/);
  });

  it('orNaN turns only an undefined metric into NaN', () => {
    assert.ok(Number.isNaN(orNaN(() => requireBothClasses([1], 'x').pos)));
    assert.equal(
      orNaN(() => 0.5),
      0.5,
    );
    assert.throws(() => orNaN(() => checkBinaryInput([0, 1], [0.5], 'x') as never), RangeError);
  });
});
