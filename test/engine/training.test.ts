/**
 * End-to-end checks of training on wasm: the gradients of a small model with every layer type the registered
 * architectures use match the cpu backend's, every architecture trains a step, and repeated training steps leave
 * no tensors (nor backend buffers) behind.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import { ARCHITECTURES, createModel } from '../../src/model/architectures.ts';

/** conv-BN-ReLU, max-pool, a residual add with a 1x1 projection, GAP and a sigmoid: the default model's pieces. */
function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [10, 10, 1] });
  const conv = tfl.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
    seed: 1,
  } as never);
  let x = conv.apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
  const branch = tfl.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(x);
  const shortcut = tfl.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false }).apply(x);
  x = tfl.layers.add().apply([branch, shortcut] as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output });
}

function lossOf(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const p = model.apply(x, { training: true }) as tf.Tensor;
  return tf.mean(tfl.metrics.binaryCrossentropy(y, p)) as tf.Scalar;
}

/** Gradients of the tiny model's loss for every trainable weight, on the current backend. */
function gradients(weights: Float32Array[], xValues: Float32Array, yValues: Float32Array): Float32Array[] {
  const model = tinyModel();
  model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i].shape)));
  const result = tf.tidy(() => {
    const x = tf.tensor4d(xValues, [3, 10, 10, 1]);
    const y = tf.tensor2d(yValues, [3, 1]);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => lossOf(model, x, y), vars);
    return vars.map((v) => grads[v.name].dataSync().slice() as Float32Array);
  });
  model.dispose();
  return result;
}

before(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('training on wasm', () => {
  it('a small conv/BN/pool/residual model gets the same gradients as on cpu (|diff| <= 1e-4 * scale)', async () => {
    await tf.setBackend('cpu');
    const reference = tinyModel();
    const weights = reference.getWeights().map((w) => w.dataSync().slice() as Float32Array);
    reference.dispose();
    const x = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 0.37) * 2);
    const y = Float32Array.from([1, 0, 1]);
    const onCpu = gradients(weights, x, y);
    await tf.setBackend('wasm');
    const onWasm = gradients(weights, x, y);
    assert.equal(onWasm.length, onCpu.length);
    onCpu.forEach((cpu, i) => {
      const scale = Math.max(1, ...Array.from(cpu, Math.abs));
      const worst = Math.max(...Array.from(cpu, (v, j) => Math.abs(v - onWasm[i][j])));
      assert.ok(worst <= 1e-4 * scale, `weight ${i}: max |wasm - cpu| = ${worst}`);
    });
  });

  for (const name of Object.keys(ARCHITECTURES)) {
    it(`${name} trains on wasm without leaking tensors or backend buffers`, () => {
      const model = createModel(name, { imageSize: 32 });
      const optimizer = tf.train.adam(1e-3);
      const x = tf.randomUniform([4, 32, 32, 1], 0, 255, 'float32', 1);
      const y = tf.tensor2d([[0], [1], [1], [0]]);
      const step = () => {
        const loss = optimizer.minimize(() => lossOf(model, x, y), true) as tf.Scalar;
        const value = loss.dataSync()[0];
        loss.dispose();
        return value;
      };
      // The first step creates the optimiser's slot variables; later steps must allocate nothing that stays.
      assert.ok(Number.isFinite(step()));
      const tensors = tf.memory().numTensors;
      const buffers = tf.engine().backend.numDataIds();
      for (let i = 0; i < 3; i++) assert.ok(Number.isFinite(step()));
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked by a training step');
      assert.equal(tf.engine().backend.numDataIds(), buffers, 'backend buffers leaked by a training step');
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    });
  }
});
