/**
 * The threaded wasm build in Node: it starts with the requested pool, computes what the cpu backend computes
 * (|diff| <= 1e-4 * max(1, |cpu|)) also where Pneumoscope's convolutions split their work over the SIMD kernel
 * pool (src/engine/simd/pool.ts), and does not keep the process alive (this file would time out otherwise).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { engineThreads, initEngine } from '../../src/engine/backend.ts';
import { rowShares } from '../../src/engine/kernels/batch-norm-train.ts';

/** Gradients of a conv -> max-pool -> sum chain for the input and the filter. */
function convPoolGradients(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 4 * 12 * 10 * 3 }, (_, i) => Math.sin(i * 0.7)),
      [4, 12, 10, 3],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 3 * 3 * 3 * 8 }, (_, i) => Math.cos(i * 0.3)),
      [3, 3, 3, 8],
    );
    const f = (input: tf.Tensor, filter: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.maxPool(
            tf.relu(tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same')),
            2,
            2,
            'valid',
          ),
          0.5,
        ),
      );
    return tf
      .grads(f)([x, w])
      .map((g) => g.dataSync().slice() as Float32Array);
  });
}

/** Fused convolutions (bias, ReLU) that the kernel pool splits: Winograd tiles (batch 1 and 3), direct batches. */
function pooledConvolutions(): Float32Array[] {
  return tf.tidy(() => {
    const values = (shape: number[], f: (i: number) => number) =>
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i));
    const out: Float32Array[] = [];
    for (const [n, ci, k, stride] of [
      [1, 6, 3, 1],
      [3, 5, 3, 1],
      [3, 2, 3, 1],
      [4, 6, 1, 2],
    ]) {
      const x = tf.tensor4d(
        values([n, 11, 9, ci], (i) => Math.sin(i * 0.37)),
        [n, 11, 9, ci],
      );
      const filter = tf.tensor4d(
        values([k, k, ci, 10], (i) => Math.cos(i * 0.21)),
        [k, k, ci, 10],
      );
      const bias = tf.tensor1d(values([10], (i) => i / 10 - 0.5));
      const y = tf.fused.conv2d({ x, filter, bias, strides: stride, pad: 'same', activation: 'relu' });
      out.push(y.dataSync().slice() as Float32Array);
    }
    return out;
  });
}

/** Batch norm in training mode (sums split over the pool's threads) and in inference mode, odd channel count. */
function pooledBatchNorm(): Float32Array[] {
  return tf.tidy(() => {
    const n = 3 * 40 * 41 * 5;
    const x = tf.tensor4d(
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.11) * 3 + 1),
      [3, 40, 41, 5],
    );
    const layer = tfl.layers.batchNormalization({ momentum: 0.5 });
    const training = layer.apply(x, { training: true }) as tf.Tensor;
    const inference = layer.apply(x) as tf.Tensor;
    const values = [training, inference, ...layer.getWeights()].map(
      (t) => t.dataSync().slice() as Float32Array,
    );
    for (const w of layer.weights) w.dispose();
    return values;
  });
}

/**
 * Gradients through training-mode batch norm (its two reductions and its elementwise pass split over the pool's
 * threads: 4920 rows, 5 channels) for the input, gamma and beta.
 */
function pooledBatchNormGradients(): Float32Array[] {
  return tf.tidy(() => {
    const shape = [3, 40, 41, 5];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor4d(
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.13) * 2 - 0.5),
      shape as [number, number, number, number],
    );
    const weight = tf.tensor4d(
      Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.029)),
      shape as [number, number, number, number],
    );
    const layer = tfl.layers.batchNormalization();
    layer.build(shape);
    layer.setWeights([tf.linspace(0.5, 1.5, 5), tf.linspace(-0.2, 0.3, 5), tf.zeros([5]), tf.ones([5])]);
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = (input: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, weight)) as tf.Scalar;
    const dx = tf.grad(loss)(x);
    const { grads } = tf.variableGrads(() => loss(x), [gamma, beta]);
    const values = [dx, grads[gamma.name], grads[beta.name]].map((t) => t.dataSync().slice() as Float32Array);
    for (const w of layer.weights) w.dispose();
    return values;
  });
}

/** Runs `compute` on wasm, then on cpu, and compares the results. */
async function assertMatchesCpu(compute: () => Float32Array[]): Promise<void> {
  const onWasm = compute();
  await tf.setBackend('cpu');
  const onCpu = compute();
  await tf.setBackend('wasm');
  assertClose(onWasm, onCpu);
}

function assertClose(onWasm: Float32Array[], onCpu: Float32Array[]): void {
  onCpu.forEach((cpu, i) => {
    const scale = Math.max(1, ...Array.from(cpu, Math.abs));
    const worst = Math.max(...Array.from(cpu, (v, j) => Math.abs(v - onWasm[i][j])));
    assert.ok(worst <= 1e-4 * scale, `result ${i}: max |wasm - cpu| = ${worst}`);
  });
}

before(async () => {
  await initEngine({ backend: 'wasm', threads: 2 });
});

describe('threaded wasm', () => {
  it('runs with a pool of 2 threads', () => {
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(engineThreads(), 2);
  });

  it('computes convolution gradients as the cpu backend does', async () => {
    await assertMatchesCpu(convPoolGradients);
  });

  it('splits batch norm over the SIMD kernel pool and computes what the cpu backend computes', async () => {
    await assertMatchesCpu(pooledBatchNorm);
  });

  it('splits the batch-norm gradient over the SIMD kernel pool and computes what the cpu backend computes', async () => {
    assert.equal(rowShares(tf.backend() as never, 3 * 40 * 41).length, 2, 'the rows are not split');
    await assertMatchesCpu(pooledBatchNormGradients);
  });

  it('splits convolutions over the SIMD kernel pool and computes what the cpu backend computes', async () => {
    await assertMatchesCpu(pooledConvolutions);
  });
});
