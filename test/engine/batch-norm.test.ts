/**
 * The fast batch-norm training path against tfjs-layers' stock one, on wasm: same outputs, same moving-statistics
 * updates, same gradients for the input, gamma and beta (|diff| <= 1e-4 * max(1, |stock|)); inference unchanged.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import { installFastBatchNorm, uninstallFastBatchNorm } from '../../src/engine/batch-norm.ts';

interface Run {
  output: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
  grads: Float32Array[];
}

/**
 * Training-mode passes through a fresh BN layer with fixed weights: the output, the moving statistics after three
 * updates, and the gradients of sum(output * weight).
 */
function run(x: tf.Tensor, weight: tf.Tensor): Run {
  const layer = tfl.layers.batchNormalization({ momentum: 0.9 });
  layer.build(x.shape);
  const channels = x.shape[x.shape.length - 1];
  const initial = [
    tf.linspace(0.5, 1.5, channels),
    tf.linspace(-0.2, 0.3, channels),
    tf.zeros([channels]),
    tf.ones([channels]),
  ];
  layer.setWeights(initial);
  tf.dispose(initial);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = (input: tf.Tensor) =>
    tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, weight)) as tf.Scalar;
  const values = (t: tf.Tensor) => t.dataSync().slice() as Float32Array;
  const result = tf.tidy(() => {
    const output = values(layer.apply(x, { training: true }) as tf.Tensor);
    const dx = values(tf.grad(loss)(x));
    const { grads } = tf.variableGrads(() => loss(x), [gamma, beta]);
    return { output, grads: [dx, values(grads[gamma.name]), values(grads[beta.name])] };
  });
  const [movingMean, movingVariance] = layer
    .getWeights()
    .slice(2)
    .map((w) => w.dataSync().slice() as Float32Array);
  for (const w of layer.weights) w.dispose();
  return { ...result, movingMean, movingVariance };
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  const worst = Math.max(...Array.from(expected, (v, i) => Math.abs(v - actual[i])));
  assert.ok(worst <= 1e-4 * scale, `${what}: max |fast - stock| = ${worst}`);
}

before(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('fast batch norm', () => {
  // Channels % 4 == 0 take the fused SIMD kernels (rows spanning several accumulation blocks); others the ops.
  for (const shape of [
    [3, 5, 4, 6],
    [4, 7],
    [3, 5, 4, 8],
    [2, 40, 40, 16],
    [6, 8],
    [3, 5, 4, 7],
    [2, 9, 9, 3],
  ]) {
    it(`matches the stock layer in training mode for [${shape}]`, () => {
      const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 4), 3), 2));
      const weight = tf.randomNormal(shape, 0, 1, 'float32', 5);
      uninstallFastBatchNorm();
      const stock = run(x, weight);
      installFastBatchNorm();
      const fast = run(x, weight);
      assertClose(fast.output, stock.output, 'output');
      assertClose(fast.movingMean, stock.movingMean, 'moving mean');
      assertClose(fast.movingVariance, stock.movingVariance, 'moving variance');
      for (const [i, name] of ['dx', 'dgamma', 'dbeta'].entries())
        assertClose(fast.grads[i], stock.grads[i], name);
      tf.dispose([x, weight]);
    });
  }

  it('leaves no tensors behind', () => {
    installFastBatchNorm();
    const x = tf.randomNormal([2, 3, 3, 4]);
    const weight = tf.ones([2, 3, 3, 4]);
    run(x, weight);
    const before = tf.memory().numTensors;
    run(x, weight);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, weight]);
  });
});
