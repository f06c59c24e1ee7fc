/**
 * The threaded wasm build in Node: it starts with the requested pool, computes what the cpu backend computes
 * (|diff| <= 1e-4 * max(1, |cpu|)), and does not keep the process alive (this file would time out otherwise).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
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
    onCpu.forEach((cpu, i) => {
      const scale = Math.max(1, ...Array.from(cpu, Math.abs));
      const worst = Math.max(...Array.from(cpu, (v, j) => Math.abs(v - onWasm[i][j])));
      assert.ok(worst <= 1e-4 * scale, `gradient ${i}: max |wasm - cpu| = ${worst}`);
    });
  });
});
