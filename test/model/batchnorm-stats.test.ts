import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed, seededPermutation, seededRandom } from '../../src/core/random.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { recomputeBatchNormStatistics } from '../../src/model/batchnorm-stats.ts';
import { batchTensor } from '../../src/model/infer.ts';

const SIZE = 8;

function tinyModel(): { model: tfl.LayersModel; conv: tfl.LayersModel } {
  const input = tfl.input({ shape: [SIZE, SIZE, 1] });
  const convOut = tfl.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv' })
    .apply(input) as tfl.SymbolicTensor;
  const bn = tfl.layers
    .batchNormalization({ momentum: 0.99, name: 'bn' })
    .apply(convOut) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(bn) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tfl.SymbolicTensor;
  return {
    model: tfl.model({ inputs: input, outputs: output }),
    conv: tfl.model({ inputs: input, outputs: convOut }),
  };
}

before(() => initEngine({ backend: 'wasm' }));

describe('recomputeBatchNormStatistics', () => {
  it('sets the moving statistics to the mean of the chosen batches’ statistics and restores the momentum', () => {
    const { model, conv } = tinyModel();
    const random = seededRandom(2);
    const count = 40;
    const pixels = Uint8Array.from({ length: count * SIZE * SIZE }, () => Math.floor(random() * 256));
    const done = recomputeBatchNormStatistics({
      model,
      pixels,
      imageSize: SIZE,
      batchSize: 8,
      seed: 5,
      batches: 3,
    });
    assert.equal(done, true);
    const bn = model.getLayer('bn') as unknown as { momentum: number };
    assert.equal(bn.momentum, 0.99);

    // The same 24 images, in the same seeded order, in batches of 8.
    const order = seededPermutation(count, deriveSeed(5, 'precise-bn'));
    const area = SIZE * SIZE;
    const means: Float32Array[] = [];
    const variances: Float32Array[] = [];
    for (let b = 0; b < 3; b++) {
      const batch = new Uint8Array(8 * area);
      for (let k = 0; k < 8; k++)
        batch.set(pixels.subarray(order[b * 8 + k] * area, (order[b * 8 + k] + 1) * area), k * area);
      tf.tidy(() => {
        const { mean, variance } = tf.moments(
          conv.predict(batchTensor(batch, SIZE, 0, 8)) as tf.Tensor,
          [0, 1, 2],
        );
        means.push(mean.dataSync() as Float32Array);
        variances.push(variance.dataSync() as Float32Array);
      });
    }
    const [, , movingMean, movingVariance] = model
      .getLayer('bn')
      .getWeights()
      .map((w) => w.dataSync());
    for (let c = 0; c < 3; c++) {
      const expectedMean = (means[0][c] + means[1][c] + means[2][c]) / 3;
      const expectedVariance = (variances[0][c] + variances[1][c] + variances[2][c]) / 3;
      assert.ok(Math.abs(movingMean[c] - expectedMean) < 1e-3 * Math.max(1, Math.abs(expectedMean)));
      assert.ok(Math.abs(movingVariance[c] - expectedVariance) < 1e-3 * Math.max(1, expectedVariance));
    }
    model.dispose();
  });

  it('leaves models without batch norm alone', () => {
    const input = tfl.input({ shape: [SIZE, SIZE, 1] });
    const output = tfl.layers
      .dense({ units: 1 })
      .apply(tfl.layers.flatten().apply(input)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const pixels = new Uint8Array(4 * SIZE * SIZE);
    assert.equal(
      recomputeBatchNormStatistics({ model, pixels, imageSize: SIZE, batchSize: 2, seed: 1 }),
      false,
    );
    model.dispose();
  });
});
