/**
 * Checkpoints: after every epoch, the model's weights, the optimiser's state, the best weights so far and the
 * training state (history, best epoch, early-stopping counters) go to `<model dir>/checkpoints/`. The weight
 * files are written first and `checkpoint.json` last, each atomically, so a run killed at any moment leaves the
 * previous complete checkpoint readable. Random draws depend only on (seed, epoch, batch), so no generator state
 * needs saving: a resumed run continues exactly where the killed one was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainingState } from './loop.ts';
import {
  type NamedTensor,
  readTensors,
  type TensorSpec,
  writeFileAtomic,
  writeTensors,
} from './tensors-file.ts';

export const CHECKPOINT_DIR = 'checkpoints';
export const CHECKPOINT_JSON = 'checkpoint.json';
export const CHECKPOINT_FORMAT = 'pneumoscope-checkpoint';

interface TensorsFileRef {
  file: string;
  specs: TensorSpec[];
}

/** `checkpoint.json`. `config` is the run's configuration, which a resumed run must reuse as it is. */
export interface CheckpointManifest<Config = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  savedAt: string;
  config: Config;
  state: TrainingState;
  weights: TensorsFileRef;
  optimizer: TensorsFileRef;
  /** Weights of the best epoch so far (null before any epoch improved). */
  best: TensorsFileRef | null;
}

/** Named views of the model's current weights (not copies: do not dispose). */
function namedWeights(model: tfl.LayersModel): NamedTensor[] {
  return model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
}

/** Copies of the model's current weights, e.g. to keep the best epoch's. The caller disposes them. */
export function snapshotWeights(model: tfl.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => tf.clone(w.read()));
}

export interface SaveCheckpointOptions<Config> {
  dir: string;
  config: Config;
  state: TrainingState;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  /** Weights of the best epoch (from `snapshotWeights`), if any. */
  best: tf.Tensor[] | null;
}

export async function saveCheckpoint<Config>(options: SaveCheckpointOptions<Config>): Promise<void> {
  const { dir, state, model } = options;
  await mkdir(dir, { recursive: true });
  const tag = `e${String(state.epochsDone).padStart(3, '0')}`;
  const weights = { file: `weights-${tag}.bin`, specs: [] as TensorSpec[] };
  weights.specs = await writeTensors(path.join(dir, weights.file), namedWeights(model));
  const optimizer = { file: `optimizer-${tag}.bin`, specs: [] as TensorSpec[] };
  optimizer.specs = await writeTensors(path.join(dir, optimizer.file), await options.optimizer.getWeights());
  let best: TensorsFileRef | null = null;
  if (options.best && state.best) {
    const file = `best-e${String(state.best.epoch).padStart(3, '0')}.bin`;
    const names = model.weights.map((w) => w.originalName);
    best = {
      file,
      specs: await writeTensors(
        path.join(dir, file),
        options.best.map((tensor, i) => ({ name: names[i], tensor })),
      ),
    };
  }
  const manifest: CheckpointManifest<Config> = {
    format: CHECKPOINT_FORMAT,
    version: 1,
    savedAt: new Date().toISOString(),
    config: options.config,
    state,
    weights,
    optimizer,
    best,
  };
  await writeFileAtomic(path.join(dir, CHECKPOINT_JSON), `${JSON.stringify(manifest, null, 2)}\n`);
  await removeUnreferenced(dir, manifest);
}

/** Deletes weight files of older checkpoints (only after the new checkpoint.json is in place). */
async function removeUnreferenced(dir: string, manifest: CheckpointManifest<unknown>): Promise<void> {
  const keep = new Set([
    CHECKPOINT_JSON,
    manifest.weights.file,
    manifest.optimizer.file,
    manifest.best?.file,
  ]);
  for (const name of await readdir(dir)) {
    if (!keep.has(name) && /\.bin$|\.tmp-\d+$/.test(name)) await rm(path.join(dir, name), { force: true });
  }
}

/** Reads `checkpoint.json` from `dir`, or returns null when there is none. */
export async function readCheckpoint<Config>(dir: string): Promise<CheckpointManifest<Config> | null> {
  const file = path.join(dir, CHECKPOINT_JSON);
  if (!existsSync(file)) return null;
  const manifest = JSON.parse(await readFile(file, 'utf8')) as CheckpointManifest<Config>;
  if (manifest.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: not a Pneumoscope checkpoint`);
  return manifest;
}

/**
 * Adam keeps beta^t as a running product; `setWeights` rebuilds it with pow(), which differs in the last bits.
 * Recomputing the product exactly as the optimiser does (float32 multiply per step) makes a resumed run
 * bit-identical to an uninterrupted one. Skipped for optimisers without these fields.
 */
function restoreAdamProducts(optimizer: tf.Optimizer, iterations: number): void {
  const adam = optimizer as unknown as Record<string, unknown>;
  for (const [acc, beta] of [
    ['accBeta1', 'beta1'],
    ['accBeta2', 'beta2'],
  ]) {
    const variable = adam[acc] as tf.Variable | undefined;
    const factor = adam[beta];
    if (!(variable instanceof tf.Variable) || typeof factor !== 'number') continue;
    let product = Math.fround(factor);
    for (let i = 0; i < iterations; i++) product = Math.fround(product * Math.fround(factor));
    tf.tidy(() => variable.assign(tf.scalar(product)));
  }
}

/**
 * Loads a checkpoint's weights into `model` and state into `optimizer`; returns the best weights (the caller
 * disposes them) or null.
 */
export async function restoreCheckpoint(
  dir: string,
  manifest: CheckpointManifest<unknown>,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
): Promise<tf.Tensor[] | null> {
  const weights = await readTensors(path.join(dir, manifest.weights.file), manifest.weights.specs);
  try {
    model.setWeights(weights.map((w) => w.tensor));
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
  const state = await readTensors(path.join(dir, manifest.optimizer.file), manifest.optimizer.specs);
  await optimizer.setWeights(state);
  tf.dispose(state.map((s) => s.tensor));
  restoreAdamProducts(optimizer, optimizer.iterations);
  if (!manifest.best) return null;
  const best = await readTensors(path.join(dir, manifest.best.file), manifest.best.specs);
  return best.map((b) => b.tensor);
}

/** Removes the checkpoint folder (after a run has finished and its model is saved). */
export async function removeCheckpoints(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
