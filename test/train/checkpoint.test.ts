import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine/backend.ts';
import { trainStep } from '../../src/engine/train-step.ts';
import { PROBABILITY_EPS } from '../../src/metrics/calibration.ts';
import {
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  snapshotWeights,
} from '../../src/train/checkpoint.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { BestWeights, earlyStopping } from '../../src/train/hooks.ts';
import { type EpochContext, type EpochRecord, initialTrainingState, isBetter } from '../../src/train/loop.ts';
import { createSeededModel } from '../../src/train/train.ts';

const config = resolveTrainConfig({ imageSize: 16, architecture: 'reference-cnn' });
let dir: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-checkpoint-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function step(model: ReturnType<typeof createSeededModel>, optimizer: tf.Optimizer, seed: number) {
  const batch = tf.tidy(() => ({
    x: tf.randomUniform([4, 16, 16, 1], 0, 255, 'float32', seed) as tf.Tensor4D,
    y: tf.tensor2d([0, 1, 0, 1], [4, 1]),
    weights: tf.ones([4, 1]) as tf.Tensor2D,
  }));
  const result = trainStep({ model, optimizer, batch, learningRate: 1e-2, seed, epsilon: PROBABILITY_EPS });
  tf.dispose([batch.x, batch.y, batch.weights]);
  return result.loss;
}

const record = (epoch: number, valAuc: number): EpochRecord => ({
  epoch,
  learningRate: 1e-3,
  trainLoss: 0.5,
  trainAccuracy: 0.8,
  trainAuc: 0.9,
  valLoss: 0.4,
  valAccuracy: 0.8,
  valAuc,
  seconds: 1,
  imagesPerSecond: 10,
});

describe('checkpoints', () => {
  it('seeded models start from identical weights', () => {
    const a = createSeededModel(config);
    const b = createSeededModel(config);
    const other = createSeededModel({ ...config, seed: config.seed + 1 });
    const values = (m: typeof a) => m.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(values(a), values(b));
    assert.notDeepEqual(values(a), values(other));
    for (const m of [a, b, other]) m.dispose();
  });

  it('restore weights and optimiser state so the next step matches exactly', async () => {
    const model = createSeededModel(config);
    const optimizer = tf.train.adam(1e-2);
    step(model, optimizer, 1);
    step(model, optimizer, 2);
    const state = { ...initialTrainingState(), epochsDone: 2, best: { epoch: 2, valAuc: 0.9, valLoss: 0.3 } };
    const best = snapshotWeights(model);
    await saveCheckpoint({ dir, config, state, model, optimizer, best });
    const manifest = await readCheckpoint(dir);
    assert.ok(manifest);
    assert.equal(manifest.state.epochsDone, 2);

    const restored = createSeededModel(config);
    const restoredOptimizer = tf.train.adam(1e-2);
    const restoredBest = await restoreCheckpoint(dir, manifest, restored, restoredOptimizer);
    assert.equal(restoredOptimizer.iterations, 2);
    assert.equal(restoredBest?.length, best.length);
    const lossA = step(model, optimizer, 3);
    const lossB = step(restored, restoredOptimizer, 3);
    assert.equal(lossA, lossB);
    const after = (m: typeof model) => m.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(after(model), after(restored));
    tf.dispose([...best, ...(restoredBest ?? [])]);
    for (const m of [model, restored]) m.dispose();
  });

  it('keeps only the files of the latest checkpoint', async () => {
    const model = createSeededModel(config);
    const optimizer = tf.train.adam(1e-2);
    step(model, optimizer, 1);
    await saveCheckpoint({
      dir,
      config,
      state: { ...initialTrainingState(), epochsDone: 3 },
      model,
      optimizer,
      best: null,
    });
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['checkpoint.json', 'optimizer-e003.bin', 'weights-e003.bin']);
    model.dispose();
  });
});

describe('training hooks', () => {
  it('early stopping fires after `patience` epochs without improvement', () => {
    const hook = earlyStopping(2, 'auc');
    const state = { ...initialTrainingState(), best: { epoch: 3, valAuc: 0.95, valLoss: 0.2 } };
    const context = (epoch: number) =>
      ({ record: record(epoch, 0.9), state, improved: false }) as unknown as EpochContext;
    hook.onEpochEnd?.(context(4));
    assert.equal(state.stopReason, null);
    hook.onEpochEnd?.(context(5));
    assert.match(state.stopReason ?? '', /ROC-AUC has not improved for 2 epochs \(best 0\.9500 at epoch 3\)/);
    const byLoss = { ...initialTrainingState(), best: { epoch: 1, valAuc: 0.95, valLoss: 0.2 } };
    earlyStopping(1).onEpochEnd?.({
      record: record(2, 0.99),
      state: byLoss,
      improved: false,
    } as unknown as EpochContext);
    assert.match(
      byLoss.stopReason ?? '',
      /validation loss has not improved for 1 epochs \(best 0\.2000 at epoch 1\)/,
    );
  });

  it('picks the best epoch by loss, or by AUC with loss breaking ties', () => {
    const best = { epoch: 1, valAuc: 0.99, valLoss: 0.3 };
    const better = (valAuc: number, valLoss: number, monitor: 'loss' | 'auc') =>
      isBetter({ ...record(2, valAuc), valLoss }, best, monitor);
    assert.equal(better(0.98, 0.2, 'loss'), true);
    assert.equal(better(0.999, 0.4, 'loss'), false);
    assert.equal(better(0.999, 0.4, 'auc'), true);
    assert.equal(better(0.99005, 0.2, 'auc'), true, 'an AUC tie goes to the lower loss');
    assert.equal(better(0.99005, 0.4, 'auc'), false);
    assert.equal(isBetter(record(1, 0.5), null, 'loss'), true);
  });

  it('BestWeights copies the weights of improving epochs only', () => {
    const model = createSeededModel(config);
    const keeper = new BestWeights();
    keeper.onEpochEnd({ improved: false, model } as unknown as EpochContext);
    assert.ok(keeper.tensors === null);
    keeper.onEpochEnd({ improved: true, model } as unknown as EpochContext);
    assert.equal((keeper.tensors as tf.Tensor[] | null)?.length, model.weights.length);
    keeper.dispose();
    model.dispose();
  });
});
