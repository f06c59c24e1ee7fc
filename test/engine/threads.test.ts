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
    const onWasm = convPoolGradients();
    await tf.setBackend('cpu');
    const onCpu = convPoolGradients();
    await tf.setBackend('wasm');
    assertClose(onWasm, onCpu);
  });

  it('splits batch norm over the SIMD kernel pool and computes what the cpu backend computes', async () => {
    const onWasm = pooledBatchNorm();
    await tf.setBackend('cpu');
    const onCpu = pooledBatchNorm();
    await tf.setBackend('wasm');
    assertClose(onWasm, onCpu);
  });

  it('splits convolutions over the SIMD kernel pool and computes what the cpu backend computes', async () => {
    const onWasm = pooledConvolutions();
    await tf.setBackend('cpu');
    const onCpu = pooledConvolutions();
    await tf.setBackend('wasm');
    assertClose(onWasm, onCpu);
  });
});
