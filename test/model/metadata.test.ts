import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHITECTURES, preprocessingFor } from '../../src/model/architectures.ts';
import { validateMetadata } from '../../src/model/metadata.ts';
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
