/**
 * `cxr train` as a function: prepare data, build (or restore) the model, run the epoch loop with its hooks,
 * then calibrate, choose the threshold and write the model directory (model, metadata.json, MODEL_CARD.md,
 * history.json, report.html, training-curves.png, split.json).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ProgressCallback } from '../core/progress.ts';
import { deriveSeed, withSeededMathRandom } from '../core/random.ts';
import { createAugmenter } from '../data/augment.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { thresholdRuleByName } from '../metrics/threshold.ts';
import { createModel } from '../model/architectures.ts';
import { renderModelCard } from '../model/card.ts';
import { saveModel } from '../model/io.ts';
import type { ModelMetadata } from '../model/metadata.ts';
import {
  CHECKPOINT_DIR,
  type CheckpointManifest,
  readCheckpoint,
  removeCheckpoints,
  restoreCheckpoint,
} from './checkpoint.ts';
import { configDifferences, resolveTrainConfig, type TrainConfig } from './config.ts';
import { type PreparedData, prepareTrainingData } from './data.ts';
import { chooseOperatingPoint, type OperatingPoint } from './finalize.ts';
import { BestWeights, batchProgress, checkpointing, earlyStopping, epochLog } from './hooks.ts';
import {
  type EpochRecord,
  initialTrainingState,
  runTraining,
  type TrainingHooks,
  type TrainingState,
} from './loop.ts';
import { buildTrainingReport, TRAINING_CURVES_PNG } from './report.ts';
import { buildMetadata, trainingAugmentation, trainingSummary } from './summary.ts';

export const HISTORY_JSON = 'history.json';

export const REPORT_HTML = 'report.html';
export const SPLIT_JSON = 'split.json';

/** What a checkpoint stores besides weights: the run's settings and the data they were applied to. */
interface RunRecord {
  config: TrainConfig;
  trainSha256: string;
}

/** Where a run reports what it is doing. The CLI turns these into progress bars and log lines. */
export interface TrainReporter {
  /** A progress bar for a named phase ("load train images", "epoch 3/20", ...). */
  phase?(name: string): { update: ProgressCallback; stop(): void };
  /** One line per epoch, and notes. */
  log?(line: string): void;
  warn?(message: string): void;
}

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  valDir?: string;
  /** Settings given by the user; missing ones take defaults (or, when resuming, the checkpoint's). */
  config?: Partial<TrainConfig>;
  resume?: boolean;
  backend?: BackendName;
  /** wasm threads (default: $CXR_WASM_THREADS or 1). A resumed run should use the same count. */
  threads?: number;
  cacheDir?: string | null;
  /** Keep checkpoints/ after a successful run (default: removed, the saved model supersedes them). */
  keepCheckpoints?: boolean;
  /** The command line, recorded in metadata for reproduction. */
  command?: string;
  /** Bootstrap resamples for the validation CIs (default 1,000). */
  bootstrapSamples?: number;
  reporter?: TrainReporter;
  /** Extra hooks, run after the built-in ones (tests use one to simulate a killed run). */
  hooks?: TrainingHooks[];
}

export interface TrainResult {
  outDir: string;
  metadata: ModelMetadata;
  history: EpochRecord[];
  warnings: string[];
}

/** The settings of this run: the checkpoint's when resuming (warning about any asked-for difference). */
async function runSettings(options: TrainOptions, checkpointDir: string) {
  const manifest = await readCheckpoint<RunRecord>(checkpointDir);
  if (options.resume) {
    if (!manifest) throw new Error(`nothing to resume: no checkpoint in ${checkpointDir}`);
    const differences = configDifferences(manifest.config.config, options.config ?? {});
    for (const d of differences) options.reporter?.warn?.(`--resume keeps the checkpoint's settings (${d})`);
    return { config: manifest.config.config, manifest };
  }
  if (manifest) {
    throw new Error(
      `${options.outDir} holds the checkpoint of an unfinished run (epoch ${manifest.state.epochsDone}); ` +
        `continue it with --resume or delete ${checkpointDir}`,
    );
  }
  return { config: resolveTrainConfig(options.config ?? {}), manifest: null };
}

/** Builds the model with seeded initial weights: the initialisers draw from Math.random, seeded here. */
export function createSeededModel(config: TrainConfig): tfl.LayersModel {
  return withSeededMathRandom(deriveSeed(config.seed, 'init'), () =>
    createModel(config.architecture, {
      imageSize: config.imageSize,
      dropout: config.dropout,
      l2: config.l2,
    }),
  );
}

function defaultCommand(options: TrainOptions, config: TrainConfig): string {
  return (
    `npm run -s cxr -- train --data ${options.dataDir} --out ${options.outDir} --arch ${config.architecture} ` +
    `--image-size ${config.imageSize} --epochs ${config.epochs} --batch-size ${config.batchSize} ` +
    `--lr ${config.learningRate} --seed ${config.seed}`
  );
}

/** Restores a checkpoint into a fresh model/optimizer, or starts from scratch. */
async function startingPoint(
  checkpointDir: string,
  manifest: CheckpointManifest<RunRecord> | null,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  data: PreparedData,
) {
  if (!manifest) return { state: initialTrainingState(), best: new BestWeights() };
  if (manifest.config.trainSha256 !== data.trainFingerprint.sha256) {
    throw new Error(
      "cannot resume: the training images differ from the checkpoint's (file list hash changed); " +
        `train again without --resume after deleting ${checkpointDir}`,
    );
  }
  const best = await restoreCheckpoint(checkpointDir, manifest, model, optimizer);
  return { state: manifest.state, best: new BestWeights(best) };
}

/** Everything a run holds between its steps. The model, optimizer and best weights are freed by `trainModel`. */
interface Run {
  options: TrainOptions;
  outDir: string;
  checkpointDir: string;
  config: TrainConfig;
  reporter: TrainReporter;
  backend: string;
  data: PreparedData;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  state: TrainingState;
  best: BestWeights;
}

/** Step 1: settle the settings, start the engine, load the data, build (or restore) the model. */
async function prepare(options: TrainOptions): Promise<Run> {
  const outDir = path.resolve(options.outDir);
  const checkpointDir = path.join(outDir, CHECKPOINT_DIR);
  const { config, manifest } = await runSettings(options, checkpointDir);
  const reporter = options.reporter ?? {};
  const backend = await initEngine({ backend: options.backend, threads: options.threads });
  const data = await prepareTrainingData({
    dataDir: options.dataDir,
    valDir: options.valDir,
    valFraction: config.valFraction,
    seed: config.splitSeed ?? config.seed,
    imageSize: config.imageSize,
    cacheDir: options.cacheDir,
    splitManifest: path.join(outDir, SPLIT_JSON),
    progress: reporter.phase,
  });
  for (const w of data.warnings) reporter.warn?.(w);
  reporter.log?.(
    `training on ${data.train.labels.length} images, validating on ${data.val.labels.length} (${data.valSource}); ` +
      `${config.architecture} at ${config.imageSize} px, ${config.epochs} epochs, batch ${config.batchSize}`,
  );
  const model = createSeededModel(config);
  const optimizer = tf.train.adam(config.learningRate);
  try {
    const { state, best } = await startingPoint(checkpointDir, manifest, model, optimizer, data);
    if (manifest) reporter.log?.(`resuming after epoch ${state.epochsDone} from ${checkpointDir}`);
    const common = { options, outDir, checkpointDir, config, reporter, backend, data, model, optimizer };
    return { ...common, state, best };
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  }
}

/** The built-in hooks: progress bars, best-epoch tracking, early stopping, epoch lines, checkpoints. */
function trainingHooks(run: Run): TrainingHooks[] {
  const { config, reporter, best } = run;
  let bar: ReturnType<NonNullable<TrainReporter['phase']>> | undefined;
  return [
    batchProgress((p) => {
      if (p.batch === 1) bar = reporter.phase?.(`epoch ${p.epoch}/${p.epochs}`);
      bar?.update(p.batch, p.batches, { loss: p.loss.toFixed(4), ips: Math.round(p.imagesPerSecond) });
      if (p.batch === p.batches) bar?.stop();
    }),
    best,
    earlyStopping(config.patience, config.monitor),
    epochLog((line) => reporter.log?.(line), config.epochs),
    checkpointing<RunRecord>({
      dir: run.checkpointDir,
      config: { config, trainSha256: run.data.trainFingerprint.sha256 },
      best,
    }),
  ];
}

/** Step 2: the epoch loop, from the first (or the checkpoint's next) epoch to the last or an early stop. */
async function fit(run: Run): Promise<void> {
  const { config, data, model } = run;
  await runTraining({
    model,
    optimizer: run.optimizer,
    train: data.train,
    val: data.val,
    settings: {
      epochs: config.epochs,
      batchSize: config.batchSize,
      imageSize: config.imageSize,
      seed: config.seed,
      monitor: config.monitor,
      schedule: {
        base: config.learningRate,
        warmupEpochs: config.warmupEpochs,
        finalFactor: config.finalLearningRateFactor,
      },
    },
    state: run.state,
    hooks: [...trainingHooks(run), ...(run.options.hooks ?? [])],
    augment: augmenterFor(config),
  });
  if (run.state.stopReason) run.reporter.log?.(run.state.stopReason);
}

/** Step 3: keep the best epoch's weights, calibrate and choose the threshold on validation, build the metadata. */
async function finalize(run: Run): Promise<{ metadata: ModelMetadata; operating: OperatingPoint }> {
  const { config, data, model, options } = run;
  if (run.best.tensors) model.setWeights(run.best.tensors);
  const operating = await chooseOperatingPoint({
    model,
    val: data.val,
    imageSize: config.imageSize,
    rule: thresholdRuleByName(config.thresholdRule),
    seed: config.seed,
    bootstrapSamples: options.bootstrapSamples,
  });
  const training = trainingSummary(config, run.state, data, {
    backend: run.backend,
    command: options.command ?? defaultCommand(options, config),
    warnings: data.warnings,
  });
  const metadata = buildMetadata({
    outDir: run.outDir,
    config,
    data,
    operating: {
      temperature: operating.calibration.temperature,
      threshold: operating.threshold.threshold,
      rule: operating.threshold.rule,
      metrics: operating.metrics,
    },
    training,
    backend: run.backend,
  });
  return { metadata, operating };
}

/** Step 4: the model directory (model, metadata, card, history, report, curves); checkpoints go unless kept. */
async function write(run: Run, metadata: ModelMetadata, operating: OperatingPoint): Promise<void> {
  const { outDir, state } = run;
  await saveModel(run.model, outDir, metadata, renderModelCard(metadata));
  await writeFile(path.join(outDir, HISTORY_JSON), `${JSON.stringify(state.history, null, 2)}\n`);
  const report = await buildTrainingReport({ metadata, history: state.history, metrics: operating.metrics });
  await writeFile(path.join(outDir, REPORT_HTML), report.html);
  await writeFile(path.join(outDir, TRAINING_CURVES_PNG), report.curvesPng);
  if (!run.options.keepCheckpoints && existsSync(run.checkpointDir))
    await removeCheckpoints(run.checkpointDir);
}

/** `cxr train`: prepare, fit, finalize, write. */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const run = await prepare(options);
  try {
    await fit(run);
    const { metadata, operating } = await finalize(run);
    await write(run, metadata, operating);
    return { outDir: run.outDir, metadata, history: run.state.history, warnings: run.data.warnings };
  } finally {
    run.best.dispose();
    run.optimizer.dispose();
    run.model.dispose();
  }
}

/** The training loop's augmentation hook for `config`, or undefined without augmentation. */
function augmenterFor(config: TrainConfig) {
  const settings = trainingAugmentation(config);
  return settings
    ? createAugmenter({ ...settings, seed: deriveSeed(config.seed, 'augmenter') }).inPlace
    : undefined;
}
