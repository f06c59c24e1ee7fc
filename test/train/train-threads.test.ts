/**
 * `trainModel` on two threads (two data-parallel replicas; this file runs in its own process, where the engine
 * starts with two threads): a killed and resumed run, whose second epoch runs on new replicas restored from the
 * checkpoint, ends with exactly the weights of an uninterrupted one (so the run is also deterministic).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engineThreads } from '../../src/engine/backend.ts';
import type { TrainConfig } from '../../src/train/config.ts';
import type { TrainingHooks } from '../../src/train/loop.ts';
import { type TrainOptions, trainModel } from '../../src/train/train.ts';
import { makeSyntheticDataset } from './synthetic-dataset.ts';

const CONFIG: Partial<TrainConfig> = {
  imageSize: 24,
  epochs: 2,
  batchSize: 8,
  learningRate: 3e-3,
  valFraction: 0.25,
  seed: 11,
};

let dataDir: string;
let work: string;

function options(outDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    dataDir,
    outDir,
    backend: 'wasm',
    threads: 2,
    cacheDir: null,
    bootstrapSamples: 20,
    config: CONFIG,
    ...extra,
  };
}

const killAfterFirstEpoch: TrainingHooks = {
  onEpochEnd({ record }) {
    if (record.epoch === 1) throw new Error('simulated crash');
  },
};

async function weights(dir: string): Promise<Float32Array> {
  return new Float32Array((await readFile(path.join(dir, 'weights.bin'))).buffer.slice(0));
}

before(async () => {
  dataDir = await makeSyntheticDataset({ perClass: 20, size: 32 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-train-threads-'));
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('trainModel on two threads', () => {
  it('resumes a killed run and ends with exactly the weights of an uninterrupted one', async () => {
    const straight = path.join(work, 'straight');
    const resumed = path.join(work, 'resumed');
    await trainModel(options(straight));
    assert.equal(engineThreads(), 2);
    await assert.rejects(trainModel(options(resumed, { hooks: [killAfterFirstEpoch] })), /simulated crash/);
    await trainModel(options(resumed, { resume: true }));
    assert.deepEqual(await weights(resumed), await weights(straight), 'the resumed run differs');
  });
});
