/** Folding batch norm into convolutions must not change what the model outputs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import { findGradCamTarget } from '../../src/explain/gradcam.ts';
import { createModel } from '../../src/model/architectures.ts';
import { foldBatchNorm } from '../../src/model/fold-batchnorm.ts';
import { seededModel } from '../predict/tiny-model.ts';

/** Gives every batch-norm layer non-trivial statistics, as after training. */
function randomiseBatchNorm(model: tfl.LayersModel): void {
  let seed = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const shapes = layer.getWeights().map((w) => w.shape);
    const values = shapes.map((shape, i) => {
      const r = tf.randomUniform(shape, 0.5, 1.5, 'float32', seed++);
      // gamma, beta, moving mean around 0, moving variance positive
      return i === 1 || i === 2 ? tf.tidy(() => tf.sub(r, 1)) : r;
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

test('folded default model gives the same outputs with fewer layers (wasm)', async () => {
  await initEngine({ backend: 'wasm' });
  const model = createModel('default', { imageSize: 32 });
  randomiseBatchNorm(model);
  const before = tf.memory().numTensors;
  const { model: folded, folded: count } = foldBatchNorm(model);
  assert.equal(count, 11, 'every conv -> batch norm pair of the default model folds');
  assert.equal(folded.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
  const input = tf.randomUniform([4, 32, 32, 1], 0, 255, 'float32', 3);
  const expected = (model.predict(input) as tf.Tensor).dataSync();
  const actual = (folded.predict(input) as tf.Tensor).dataSync();
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(expected[i] - actual[i]) < 1e-4, `${expected[i]} vs ${actual[i]}`);
  assert.equal(findGradCamTarget(folded).layerName, findGradCamTarget(model).layerName);
  folded.dispose();
  assert.equal(tf.memory().numTensors, before + 3, 'only the input and the two predictions remain');
  model.dispose();
  input.dispose();
});

test('a model without batch norm is returned unchanged', async () => {
  await initEngine({ backend: 'wasm' });
  const model = seededModel(16);
  const result = foldBatchNorm(model);
  assert.equal(result.model, model);
  assert.equal(result.folded, 0);
  model.dispose();
});
