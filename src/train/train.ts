/**
 * `cxr train` as a function: prepare data, build (or restore) the model, run the epoch loop with its hooks,
 * then calibrate, choose the threshold and write the model directory (model, metadata.json, MODEL_CARD.md,
 * history.json, report.html, training-curves.png, split.json).
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ProgressCallback } from '../core/progress.ts';
import { deriveSeed, withSeededMathRandom } from '../core/random.ts';
import { type BackendName, engineThreads, initEngine } from '../engine/backend.ts';
import { type AugmentationSpec, createTrainer } from '../engine/parallel/trainer.ts';
import { fitGate } from '../gate/fit.ts';
import { fitTemperature, PROBABILITY_EPS, probabilityToLogit } from '../metrics/calibration.ts';
import { thresholdRuleByName } from '../metrics/threshold.ts';
import { createModel } from '../model/architectures.ts';
import { renderModelCard } from '../model/card.ts';
import { combineMembers } from '../model/ensemble.ts';
import { recordFromMetrics, VALIDATION_RECORD_NAME } from '../model/evaluations.ts';
import { predictRawProbabilities } from '../model/infer.ts';
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
  type LoopSettings,
  runTraining,
  type TrainingHooks,
  type TrainingState,
} from './loop.ts';
import { buildTrainingReport, TRAINING_CURVES_PNG } from './report.ts';
import { shiftValidation } from './shift-validation.ts';
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
  /** wasm threads = data-parallel replicas (default: $CXR_WASM_THREADS, else 2). A resumed run should use the same count. */
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

/** The checkpoint folder of member `index` of a run with `members` members (checkpoints/ itself for one). */
export function memberCheckpointDir(checkpointDir: string, members: number, index: number): string {
  return members === 1 ? checkpointDir : path.join(checkpointDir, `member-${index}`);
}

/** The manifest of an unfinished run: the single model's, or the first member's that has one. */
async function findManifest(checkpointDir: string): Promise<CheckpointManifest<RunRecord> | null> {
  const single = await readCheckpoint<RunRecord>(checkpointDir);
  if (single || !existsSync(checkpointDir)) return single;
  const memberDirs = (await readdir(checkpointDir)).filter((n) => /^member-\d+$/.test(n)).sort();
  for (const name of memberDirs) {
    const manifest = await readCheckpoint<RunRecord>(path.join(checkpointDir, name));
    if (manifest) return manifest;
  }
  return null;
}

/** The settings of this run: the checkpoint's when resuming (warning about any asked-for difference). */
async function runSettings(options: TrainOptions, checkpointDir: string) {
  const manifest = await findManifest(checkpointDir);
  if (options.resume) {
    if (!manifest) throw new Error(`nothing to resume: no checkpoint in ${checkpointDir}`);
    const differences = configDifferences(manifest.config.config, options.config ?? {});
    for (const d of differences) options.reporter?.warn?.(`--resume keeps the checkpoint's settings (${d})`);
    return manifest.config.config;
  }
  if (manifest) {
    throw new Error(
      `${options.outDir} holds the checkpoint of an unfinished run (epoch ${manifest.state.epochsDone}); ` +
        `continue it with --resume or delete ${checkpointDir}`,
    );
  }
  return resolveTrainConfig(options.config ?? {});
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

/** How the validation record is named in metadata.json and the model card, per split design. */
const SPLIT_NAMES: Record<TrainConfig['valSplit'], string> = {
  random: VALIDATION_RECORD_NAME,
  framing: 'framing split: the most tightly framed films',
  appearance: 'appearance split: the least typical films',
};

/** What every member of a run shares: settings, engine, data. */
interface Run {
  options: TrainOptions;
  outDir: string;
  checkpointDir: string;
  config: TrainConfig;
  reporter: TrainReporter;
  backend: string;
  data: PreparedData;
}

/** One member being trained. Its model, optimizer and best weights are freed by `trainModel`. */
interface MemberRun {
  index: number;
  /** The run's settings with this member's seed (the patient split stays the run's). */
  config: TrainConfig;
  checkpointDir: string;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  state: TrainingState;
  best: BestWeights;
}

/** A trained member: its best weights and its own temperature, fitted on validation. */
interface TrainedMember {
  model: tfl.LayersModel;
  temperature: number;
  seed: number;
  state: TrainingState;
}

/** Step 1: settle the settings, start the engine, load the data. */
async function prepare(options: TrainOptions): Promise<Run> {
  const outDir = path.resolve(options.outDir);
  const checkpointDir = path.join(outDir, CHECKPOINT_DIR);
  const config = await runSettings(options, checkpointDir);
  const reporter = options.reporter ?? {};
  const backend = await initEngine({ backend: options.backend, threads: options.threads });
  const data = await prepareTrainingData({
    dataDir: options.dataDir,
    valDir: options.valDir,
    valFraction: config.valFraction,
    valSplit: config.valSplit,
    seed: config.splitSeed ?? config.seed,
    imageSize: config.imageSize,
    cacheDir: options.cacheDir,
    splitManifest: path.join(outDir, SPLIT_JSON),
    progress: reporter.phase,
  });
  for (const w of data.warnings) reporter.warn?.(w);
  const ensemble = config.members > 1 ? `, an ensemble of ${config.members} members` : '';
  reporter.log?.(
    `training on ${data.train.labels.length} images, validating on ${data.val.labels.length} (${data.valSource}); ` +
      `${config.architecture} at ${config.imageSize} px, ${config.epochs} epochs, batch ${config.batchSize}${ensemble}`,
  );
  return { options, outDir, checkpointDir, config, reporter, backend, data };
}

/** Member `index` trains with seed `seed + index`: its own initial weights, batch order, augmentation, dropout. */
export function memberConfig(config: TrainConfig, index: number): TrainConfig {
  return { ...config, seed: config.seed + index, splitSeed: config.splitSeed ?? config.seed };
}

/** Builds member `index` (or restores it from its checkpoint: a finished member restores as finished). */
async function prepareMember(run: Run, index: number): Promise<MemberRun> {
  const config = memberConfig(run.config, index);
  const checkpointDir = memberCheckpointDir(run.checkpointDir, run.config.members, index);
  const manifest = await readCheckpoint<RunRecord>(checkpointDir);
  const model = createSeededModel(config);
  const optimizer = tf.train.adam(config.learningRate);
  try {
    const { state, best } = await startingPoint(checkpointDir, manifest, model, optimizer, run.data);
    if (manifest && state.epochsDone < config.epochs && state.stopReason === null) {
      run.reporter.log?.(
        `resuming${memberLabel(run, index)} after epoch ${state.epochsDone} from ${checkpointDir}`,
      );
    }
    return { index, config, checkpointDir, model, optimizer, state, best };
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  }
}

/** " member 2/4" for ensembles, "" for a single model. */
function memberLabel(run: Run, index: number): string {
  return run.config.members > 1 ? ` member ${index + 1}/${run.config.members}` : '';
}

/** The built-in hooks: progress bars, best-epoch tracking, early stopping, epoch lines, checkpoints. */
function trainingHooks(run: Run, member: MemberRun): TrainingHooks[] {
  const { reporter } = run;
  const { config, best } = member;
  const label = memberLabel(run, member.index).trim();
  const prefix = label ? `${label} · ` : '';
  let bar: ReturnType<NonNullable<TrainReporter['phase']>> | undefined;
  return [
    batchProgress((p) => {
      if (p.batch === 1) bar = reporter.phase?.(`${prefix}epoch ${p.epoch}/${p.epochs}`);
      bar?.update(p.batch, p.batches, { loss: p.loss.toFixed(4), ips: Math.round(p.imagesPerSecond) });
      if (p.batch === p.batches) bar?.stop();
    }),
    best,
    earlyStopping(config.patience, config.monitor),
    epochLog((line) => reporter.log?.(prefix + line), config.epochs),
    checkpointing<RunRecord>({
      dir: member.checkpointDir,
      config: { config: run.config, trainSha256: run.data.trainFingerprint.sha256 },
      best,
    }),
  ];
}

/**
 * Step 2: the epoch loop of one member, from its first (or next) epoch to the last or an early stop. With more
 * than one wasm thread, the steps run on that many data-parallel replicas (src/engine/parallel).
 */
async function fit(run: Run, member: MemberRun): Promise<void> {
  const { data } = run;
  const { config, model } = member;
  const trainer = await createTrainer({
    model,
    optimizer: member.optimizer,
    replicas: run.backend === 'wasm' ? engineThreads() : 1,
    imageSize: config.imageSize,
    batchSize: config.batchSize,
    epsilon: PROBABILITY_EPS,
    augmentation: augmentationFor(config),
  });
  try {
    await runTraining({
      model,
      optimizer: member.optimizer,
      trainer,
      train: data.train,
      val: data.val,
      settings: loopSettings(config),
      state: member.state,
      hooks: [...trainingHooks(run, member), ...(run.options.hooks ?? [])],
    });
  } finally {
    await trainer.dispose();
  }
  if (member.state.stopReason) run.reporter.log?.(member.state.stopReason);
}

/** Keeps a member's best epoch and fits its own temperature on validation (an ensemble averages calibrated logits). */
async function finishMember(run: Run, member: MemberRun): Promise<TrainedMember> {
  if (member.best.tensors) member.model.setWeights(member.best.tensors);
  const raw = await predictRawProbabilities(member.model, run.data.val.pixels, {
    imageSize: run.config.imageSize,
  });
  const temperature = fitTemperature(run.data.val.labels, Float64Array.from(raw, probabilityToLogit));
  return { model: member.model, temperature, seed: member.config.seed, state: member.state };
}

/** Trains (or restores) every member in turn; each member's optimizer and best-weight copies are freed as it ends. */
async function trainMembers(run: Run): Promise<TrainedMember[]> {
  const trained: TrainedMember[] = [];
  try {
    for (let index = 0; index < run.config.members; index++) {
      const member = await prepareMember(run, index);
      try {
        await fit(run, member);
        trained.push(await finishMember(run, member));
      } catch (err) {
        member.model.dispose();
        throw err;
      } finally {
        member.best.dispose();
        member.optimizer.dispose();
      }
    }
    return trained;
  } catch (err) {
    for (const m of trained) m.model.dispose();
    throw err;
  }
}

/** The model to save: the single member as it is, or the members combined into one ensemble model. */
async function assemble(members: TrainedMember[]): Promise<tfl.LayersModel> {
  if (members.length === 1) return members[0].model;
  return combineMembers(members.map(({ model, temperature }) => ({ model, temperature })));
}

/** The members' training states as one: histories concatenated (each record tagged with its member). */
function combinedState(members: TrainedMember[]): TrainingState {
  if (members.length === 1) return members[0].state;
  return {
    epochsDone: members.reduce((n, m) => n + m.state.epochsDone, 0),
    history: members.flatMap((m, member) => m.state.history.map((r) => ({ ...r, member }))),
    best: members[0].state.best,
    stopReason: null,
    trainingSeconds: members.reduce((t, m) => t + m.state.trainingSeconds, 0),
  };
}

/** Step 3: calibrate and choose the threshold on validation, measure the shift suite, build the metadata. */
async function finalize(
  run: Run,
  model: tfl.LayersModel,
  members: TrainedMember[],
): Promise<{ metadata: ModelMetadata; operating: OperatingPoint; state: TrainingState }> {
  const { config, data, options } = run;
  const operating = await chooseOperatingPoint({
    model,
    val: data.val,
    imageSize: config.imageSize,
    rule: thresholdRuleByName(config.thresholdRule),
    seed: config.seed,
    bootstrapSamples: options.bootstrapSamples,
  });
  const state = combinedState(members);
  const training = trainingSummary(config, state, data, {
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
  const validationName =
    data.valSource === 'carved'
      ? `${SPLIT_NAMES[config.valSplit]} (${Math.round(config.valFraction * 100)}% of patients)`
      : `validation images (${data.valSource})`;
  metadata.evaluations = [
    recordFromMetrics({
      kind: 'validation',
      name: validationName,
      metrics: operating.metrics,
      data: data.valFingerprint,
    }),
    await shiftValidation({
      model,
      val: data.val,
      imageSize: config.imageSize,
      calibration: operating.calibration,
      threshold: operating.threshold.threshold,
      seed: deriveSeed(config.seed, 'shift-suite'),
      bootstrapSamples: options.bootstrapSamples,
    }),
  ];
  if (members.length > 1) {
    metadata.ensemble = {
      members: members.map((m) => ({
        seed: m.seed,
        bestEpoch: m.state.best?.epoch ?? m.state.epochsDone,
        epochsRun: m.state.epochsDone,
        temperature: m.temperature,
        valAuc: m.state.best?.valAuc ?? Number.NaN,
      })),
    };
  }
  metadata.gate = await fitGate(model, {
    imageSize: config.imageSize,
    train: data.train.pixels,
    validation: data.val.pixels,
    trainSha256: metadata.data.sha256,
    validationSha256: metadata.data.validation?.sha256,
    command: training.command,
  });
  return { metadata, operating, state };
}

/** Step 4: the model directory (model, metadata, card, history, report, curves); checkpoints go unless kept. */
async function write(
  run: Run,
  model: tfl.LayersModel,
  finalized: { metadata: ModelMetadata; operating: OperatingPoint; state: TrainingState },
): Promise<void> {
  const { outDir } = run;
  const { metadata, operating, state } = finalized;
  await saveModel(model, outDir, metadata, renderModelCard(metadata));
  await writeFile(path.join(outDir, HISTORY_JSON), `${JSON.stringify(state.history, null, 2)}\n`);
  // The report's curves show one training run: the first member's for an ensemble.
  const history = state.history.filter((r) => (r.member ?? 0) === 0);
  const report = await buildTrainingReport({ metadata, history, metrics: operating.metrics });
  await writeFile(path.join(outDir, REPORT_HTML), report.html);
  await writeFile(path.join(outDir, TRAINING_CURVES_PNG), report.curvesPng);
  if (!run.options.keepCheckpoints && existsSync(run.checkpointDir))
    await removeCheckpoints(run.checkpointDir);
}

/** `cxr train`: prepare, then fit each member, then finalize and write. */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const run = await prepare(options);
  const members = await trainMembers(run);
  let model: tfl.LayersModel | null = null;
  try {
    model = await assemble(members);
    const finalized = await finalize(run, model, members);
    await write(run, model, finalized);
    return {
      outDir: run.outDir,
      metadata: finalized.metadata,
      history: finalized.state.history,
      warnings: run.data.warnings,
    };
  } finally {
    for (const m of members) if (m.model !== model) m.model.dispose();
    model?.dispose();
  }
}

/** The epoch loop's settings for `config`. */
export function loopSettings(config: TrainConfig): LoopSettings {
  return {
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
  };
}

/** The trainer's augmentation for `config`, or undefined without augmentation. */
export function augmentationFor(config: TrainConfig): AugmentationSpec | undefined {
  const settings = trainingAugmentation(config);
  return settings ? { ...settings, seed: deriveSeed(config.seed, 'augmenter') } : undefined;
}
