/**
 * The one-kernel Adam update (src/engine/adam.ts) against tfjs-core's stock AdamOptimizer on wasm: bit-identical
 * variables, moments and running products after several steps, sizes with and without a vector tail; and the
 * same slot names, so checkpoints are unchanged.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { installFastAdam, uninstallFastAdam } from '../../src/engine/adam.ts';
import { initEngine } from '../../src/engine/backend.ts';

/** Five Adam steps on three variables; returns every value the optimiser holds or changed. */
async function run(): Promise<{ values: Float32Array[]; names: string[] }> {
  const shapes = [[3, 3, 2, 5], [7], [4, 4]];
  const variables = shapes.map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', i + 1)));
  const optimizer = tf.train.adam(0.01);
  for (let step = 0; step < 5; step++) {
    tf.tidy(() => {
      const grads = variables.map((v, i) => ({
        name: v.name,
        // Seeds from 1: TF.js treats seed 0 as no seed.
        tensor: tf.randomNormal(v.shape, 0, 1 + step, 'float32', 10 * step + i + 1),
      }));
      optimizer.applyGradients(grads);
    });
  }
  const weights = await optimizer.getWeights();
  const fields = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  const values = [
    ...variables.map((v) => v.dataSync().slice() as Float32Array),
    ...weights.map((w) => Float32Array.from(w.tensor.dataSync())),
    Float32Array.from([fields.accBeta1.dataSync()[0], fields.accBeta2.dataSync()[0]]),
  ];
  const names = weights.map((w) => w.name.replace(/^.*?(\/[mv])?$/, (_, suffix) => suffix ?? ''));
  optimizer.dispose();
  tf.dispose(variables);
  return { values, names };
}

before(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
});

describe('fast Adam', () => {
  it('updates exactly as the stock optimiser does', async () => {
    uninstallFastAdam();
    const stock = await run();
    installFastAdam();
    const fast = await run();
    assert.deepEqual(fast.names, stock.names);
    assert.equal(fast.values.length, stock.values.length);
    fast.values.forEach((v, i) => {
      assert.deepEqual(v, stock.values[i], `value ${i} differs`);
    });
  });
});
