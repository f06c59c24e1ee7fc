import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHITECTURES, preprocessingFor } from '../../src/model/architectures.ts';
import { describeCalibration, validateMetadata } from '../../src/model/metadata.ts';
import { testMetadata } from '../helpers/model-fixture.ts';

describe('the model carries its preprocessing', () => {
  it("builds metadata's preprocessing from the architecture registry", () => {
    for (const [name, arch] of Object.entries(ARCHITECTURES)) {
      assert.deepEqual(preprocessingFor(name), {
        imageSize: arch.defaultImageSize,
        ...arch.input,
      });
    }
    assert.deepEqual(preprocessingFor('default', 64), {
      imageSize: 64,
      channels: 1,
      resize: 'stretch',
      inputRange: [0, 255],
    });
  });

  it('refuses a model whose preprocessing this code cannot feed', () => {
    const good = testMetadata(32);
    assert.equal(validateMetadata(good, 'm'), good);
    const colour = { ...good, preprocessing: { ...good.preprocessing, channels: 3 } };
    assert.throws(
      () => validateMetadata(colour, 'm'),
      /m: invalid model metadata: preprocessing.channels is 3/,
    );
    const scaled = { ...good, preprocessing: { ...good.preprocessing, inputRange: [0, 1] } };
    assert.throws(
      () => validateMetadata(scaled, 'm'),
      /preprocessing.inputRange is \[0,1\], only \[0, 255\]/,
    );
  });
});

describe('calibration and evaluations in metadata', () => {
  const good = testMetadata(32);

  it('accepts temperature, Platt and no calibration, and words each', () => {
    for (const calibration of [
      { method: 'temperature', temperature: 1.2 },
      { method: 'platt', a: 0.8, b: -0.3 },
      { method: 'none' },
    ] as const) {
      assert.doesNotThrow(() => validateMetadata({ ...good, calibration }, 'm'));
    }
    assert.equal(
      describeCalibration({ method: 'platt', a: 0.8, b: -0.3 }),
      'Platt scaling (a = 0.800, b = -0.300)',
    );
    assert.equal(
      describeCalibration({ method: 'temperature', temperature: 1.2 }),
      'temperature scaling (T = 1.200)',
    );
  });

  it('refuses a Platt slope that would turn the ranking round, and unknown methods', () => {
    assert.throws(
      () => validateMetadata({ ...good, calibration: { method: 'platt', a: -1, b: 0 } }, 'm'),
      /Platt calibration needs a positive number a/,
    );
    assert.throws(
      () => validateMetadata({ ...good, calibration: { method: 'isotonic' } }, 'm'),
      /calibration.method is "isotonic"/,
    );
    assert.throws(
      () => validateMetadata({ ...good, calibration: { method: 'temperature', temperature: 0 } }, 'm'),
      /temperature must be a positive number/,
    );
  });

  it('refuses malformed evaluation records with the field named', () => {
    assert.throws(
      () => validateMetadata({ ...good, evaluations: [{ kind: 'guess', metrics: {} }] }, 'm'),
      /evaluations\[0\].kind is "guess"/,
    );
    assert.throws(() => validateMetadata({ ...good, evaluations: {} }, 'm'), /evaluations must be a list/);
  });
});
