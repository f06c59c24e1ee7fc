/**
 * Data-parallel training (src/engine/parallel): replicas in worker threads train as one thread does (batch-norm
 * statistics and gradients over the whole batch), runs are deterministic for a seed at every replica count,
 * batches smaller than the replica count work, sync/reload resume a run bit for bit, and no replica leaks
 * tensors over 100 steps. Tiny shapes, so each trainer starts and steps in well under a second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import {
  type AugmentationSpec,
  createTrainer,
  type RawBatch,
  splitBatch,
  type Trainer,
} from '../../src/engine/parallel/trainer.ts';

const SIZE = 12;
const BATCH = 7;

/**
 * conv-BN-ReLU with an odd channel count (batch norm's scalar tail), max-pool, a stride-2 conv with bias and
 * ReLU, GAP, dropout, sigmoid. (A bias right before batch norm would have a zero gradient up to rounding, which
 * Adam turns into full-size random steps: no basis for comparing runs.)
 */
function tinyModel(dropout: number): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 1] });
  const conv = (filters: number, strides: number, useBias: boolean, seed: number) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias, seed } as never);
  let x = conv(5, 1, false, 1).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
  x = conv(6, 2, true, 2).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  if (dropout > 0) x = tfl.layers.dropout({ rate: dropout }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 1, activation: 'sigmoid', seed: 3 } as never).apply(x);
  return tfl.model({ inputs: input, outputs: output as tfl.SymbolicTensor });
}

function batchFor(step: number, count: number, augmentSeed?: number): RawBatch {
  return {
    pixels: Uint8Array.from({ length: count * SIZE * SIZE }, (_, i) => ((i + 31 * step) * 2654435761) >>> 24),
    labels: Array.from({ length: count }, (_, i) => (i + step) % 2),
    weights: Array.from({ length: count }, (_, i) => 1 + i / 10),
    augmentSeed,
  };
}

/** Strong warps and photometric changes, so that an image augmented with the wrong stream would show. */
const AUGMENTATION: AugmentationSpec = {
  seed: 17,
  rotationDegrees: 20,
  zoomRange: [0.8, 1.4],
  shift: 0.15,
  gamma: 1.5,
  sharpness: 0.5,
  noise: 4,
};

let initial: tf.Tensor[] = [];

/** A fresh model with the shared initial weights, its Adam optimiser, and a trainer over them. */
async function startRun(replicas: number, dropout = 0, augmentation?: AugmentationSpec) {
  const model = tinyModel(dropout);
  model.setWeights(initial);
  const optimizer = tf.train.adam(1e-2);
  const trainer = await createTrainer({
    model,
    optimizer,
    replicas,
    imageSize: SIZE,
    batchSize: BATCH,
    epsilon: 1e-7,
    augmentation,
  });
  return { model, optimizer, trainer };
}

async function train(trainer: Trainer, steps: number[], count = BATCH): Promise<number[]> {
  const losses: number[] = [];
  for (const s of steps) losses.push((await trainer.step(batchFor(s, count), 1e-2, 1000 + s)).loss);
  return losses;
}

type Run = Awaited<ReturnType<typeof startRun>>;

async function syncedWeights(run: Run): Promise<Float32Array[]> {
  await run.trainer.sync();
  return run.model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

async function dispose(run: Run): Promise<void> {
  await run.trainer.dispose();
  run.optimizer.dispose();
  run.model.dispose();
}

async function finish(run: Run): Promise<Float32Array[]> {
  const weights = await syncedWeights(run);
  await dispose(run);
  return weights;
}

/** Largest |a - b| over all weights, relative to max(1, |a|) per weight tensor. */
function worstDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((w, i) => {
    const scale = Math.max(1, ...Array.from(w, Math.abs));
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j] - b[i][j]) / scale);
  });
  return worst;
}

before(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
  const model = tinyModel(0.3);
  initial = model.getWeights().map((w) => w.clone());
  model.dispose();
});

after(() => tf.dispose(initial));

describe('data-parallel training', () => {
  it('splits batches evenly, the larger parts first', () => {
    assert.deepEqual(splitBatch(7, 2), [
      { start: 0, count: 4 },
      { start: 4, count: 3 },
    ]);
    assert.deepEqual(
      splitBatch(1, 3).map((p) => p.count),
      [1, 0, 0],
    );
  });

  it('two and three replicas train as one thread does, also on batches smaller than the replica count, and leak nothing over 100 steps', async () => {
    // Batches of 7, then of 1 (one replica trains, the others add zero gradients and stay in step).
    const plan: [number, number][] = [
      [0, BATCH],
      [1, BATCH],
      [2, BATCH],
      [3, BATCH],
      [4, 1],
      [5, 1],
    ];
    const losses = new Map<number, number[]>();
    const weights = new Map<number, Float32Array[]>();
    for (const replicas of [1, 2, 3]) {
      const run = await startRun(replicas);
      const seen: number[] = [];
      for (const [s, count] of plan) seen.push(...(await train(run.trainer, [s], count)));
      losses.set(replicas, seen);
      weights.set(replicas, await syncedWeights(run));
      if (replicas === 3) {
        const before = await run.trainer.memory();
        const mainTensors = tf.memory().numTensors;
        await train(
          run.trainer,
          Array.from({ length: 100 }, (_, i) => i),
          5,
        );
        assert.deepEqual(await run.trainer.memory(), before, 'replica tensors or buffers leaked');
        assert.equal(tf.memory().numTensors, mainTensors, 'main-thread tensors leaked');
      }
      await dispose(run);
    }
    const one = losses.get(1) as number[];
    for (const replicas of [2, 3]) {
      const seen = losses.get(replicas) as number[];
      seen.forEach((loss, i) => {
        assert.ok(Math.abs(loss - one[i]) < 1e-5, `${replicas} replicas, loss ${i}`);
      });
      const worst = worstDifference(
        weights.get(1) as Float32Array[],
        weights.get(replicas) as Float32Array[],
      );
      assert.ok(worst < 1e-4, `${replicas} replicas' weights differ from one thread's by ${worst}`);
    }
  });

  it('is deterministic for a seed, and sync + reload into a new trainer resumes bit for bit (dropout included)', async () => {
    const local = [];
    for (let k = 0; k < 2; k++) {
      const run = await startRun(1, 0.3);
      await train(run.trainer, [0, 1, 2]);
      local.push(await finish(run));
    }
    assert.equal(worstDifference(local[0], local[1]), 0, 'one thread: runs differ');

    const whole = await startRun(2, 0.3);
    await train(whole.trainer, [0, 1, 2, 3]);
    const expected = await finish(whole);
    const first = await startRun(2, 0.3);
    await train(first.trainer, [0, 1]);
    await first.trainer.sync();
    await first.trainer.dispose();
    const second = await createTrainer({
      model: first.model,
      optimizer: first.optimizer,
      replicas: 2,
      imageSize: SIZE,
      batchSize: BATCH,
      epsilon: 1e-7,
    });
    await train(second, [2, 3]);
    const resumed = await finish({ ...first, trainer: second });
    assert.equal(worstDifference(expected, resumed), 0, 'two replicas: resumed run differs');
  });

  it("augments in the trainer: each replica its share, as one thread augments the whole batch, deterministically, leaving the caller's bytes alone", async () => {
    /** Steps 0..3 (batches of 7, then one of 3) with augmentation seeds 50 + step; the synced weights. */
    const augmentedRun = async (replicas: number, augmentation?: AugmentationSpec) => {
      const run = await startRun(replicas, 0, augmentation);
      for (const [s, count] of [
        [0, BATCH],
        [1, BATCH],
        [2, BATCH],
        [3, 3],
      ]) {
        const batch = batchFor(s, count, 50 + s);
        const bytes = batch.pixels.slice();
        await run.trainer.step(batch, 1e-2, 1000 + s);
        assert.deepEqual(batch.pixels, bytes, `${replicas} replicas changed the caller's batch`);
      }
      return finish(run);
    };
    const plain = await augmentedRun(1);
    const one = await augmentedRun(1, AUGMENTATION);
    assert.ok(worstDifference(plain, one) > 1e-3, 'augmentation changed nothing');
    const two = await augmentedRun(2, AUGMENTATION);
    const worst = worstDifference(one, two);
    assert.ok(worst < 1e-4, `two augmenting replicas' weights differ from one thread's by ${worst}`);
    const again = await augmentedRun(2, AUGMENTATION);
    assert.equal(worstDifference(two, again), 0, 'two replicas with augmentation: runs differ');
  });
});
