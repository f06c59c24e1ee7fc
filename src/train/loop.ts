/**
 * The epoch loop. It only trains and measures; everything else (progress, logging, checkpoints, early stopping)
 * is a hook, so the loop stays small and each concern can be tested on its own.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed, seededPermutation } from '../core/random.ts';
import type { Trainer } from '../engine/parallel/trainer.ts';
import { PROBABILITY_EPS } from '../metrics/calibration.ts';
import { confusionAt, ratesFrom } from '../metrics/confusion.ts';
import { orNaN } from '../metrics/errors.ts';
import { rocAuc } from '../metrics/roc.ts';
import { recomputeBatchNormStatistics } from '../model/batchnorm-stats.ts';
import { predictRawProbabilities } from '../model/infer.ts';
import { BatchBuilder, balancedClassWeights, type PixelSet } from './batches.ts';
import { type LearningRateSchedule, learningRateAt } from './schedule.ts';

/** The numbers of one finished epoch (one entry of history.json). */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Learning rate of the epoch's last step. */
  learningRate: number;
  /** Class-weighted cross-entropy, mean over the epoch's batches (augmented images, training mode). */
  trainLoss: number;
  /** At 0.5 on the raw outputs, over the epoch's augmented images. */
  trainAccuracy: number;
  trainAuc: number;
  /** Class-weighted cross-entropy on validation (same weights as training, so the two are comparable). */
  valLoss: number;
  valAccuracy: number;
  valAuc: number;
  /** Wall-clock seconds of the epoch, validation included. */
  seconds: number;
  /** Training images per second (validation excluded). */
  imagesPerSecond: number;
  /** Which ensemble member the record belongs to (0-based; absent for a single model). */
  member?: number;
}

/**
 * What picks the best epoch. `loss`: lowest class-weighted validation cross-entropy. `auc`: highest validation
 * ROC-AUC, ties (within 1e-4) broken by lower loss. On this dataset a carved validation set saturates at
 * ROC-AUC ~0.997 within three epochs, so AUC differences between later epochs are noise (one image pair) and
 * AUC selection tends to keep an early, under-trained epoch; the loss still tells epochs apart.
 */
export type MonitorName = 'loss' | 'auc';

/** The best epoch so far by the monitored validation metric. */
export interface BestEpoch {
  epoch: number;
  valAuc: number;
  valLoss: number;
}

/** Everything about a run's progress that a checkpoint must restore. JSON-serialisable. */
export interface TrainingState {
  epochsDone: number;
  history: EpochRecord[];
  best: BestEpoch | null;
  /** Why training ended early, once it has (e.g. early stopping). */
  stopReason: string | null;
  /** Sum of epoch times, across resumed sessions. */
  trainingSeconds: number;
}

export function initialTrainingState(): TrainingState {
  return { epochsDone: 0, history: [], best: null, stopReason: null, trainingSeconds: 0 };
}

export interface LoopSettings {
  epochs: number;
  batchSize: number;
  imageSize: number;
  seed: number;
  /** Validation metric that picks the best epoch (default 'loss'). */
  monitor?: MonitorName;
  schedule: Omit<LearningRateSchedule, 'totalSteps' | 'warmupSteps'> & { warmupEpochs: number };
  /** Validation batch size (inference only, so larger than the training batch). */
  evalBatchSize?: number;
}

/** Progress within an epoch, reported after every batch. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Running mean of the batch losses of this epoch. */
  loss: number;
  imagesPerSecond: number;
}

/** What an epoch-end hook sees. It may set `state.stopReason` to end training after this epoch. */
export interface EpochContext {
  record: EpochRecord;
  state: TrainingState;
  /** Whether this epoch became the best one. */
  improved: boolean;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
}

export interface TrainingHooks {
  onBatchEnd?(progress: BatchProgress): void;
  /** Called in order after each epoch; awaited (checkpoint writers are async). */
  onEpochEnd?(context: EpochContext): void | Promise<void>;
}

export interface RunTrainingOptions {
  /** The model and optimiser that validation, hooks and checkpoints see (brought up to date after each epoch). */
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  /** Runs the optimiser steps: in this thread, or split over replicas in worker threads. */
  trainer: Trainer;
  train: PixelSet;
  val: PixelSet;
  settings: LoopSettings;
  /** Restored from a checkpoint when resuming; a fresh state otherwise. */
  state: TrainingState;
  hooks?: TrainingHooks[];
  /** Accumulates where the time goes, when given (`cxr bench --profile`). */
  timings?: EpochTimings;
}

/** Wall-clock milliseconds spent in each part of the epochs run, accumulated. */
export interface EpochTimings {
  /** Gathering batches (with replicas, this overlaps their steps; the replicas augment their own images). */
  build: number;
  /** Waiting for the optimiser steps. */
  step: number;
  /** Batch-end hooks (progress) and yielding to the event loop between steps. */
  batchEnd: number;
  /** Bringing the main-thread model up to date after the epoch's steps. */
  sync: number;
  preciseBn: number;
  validation: number;
  /** Epoch-end hooks (checkpoints, best weights, logs). */
  epochEnd: number;
}

export function emptyTimings(): EpochTimings {
  return { build: 0, step: 0, batchEnd: 0, sync: 0, preciseBn: 0, validation: 0, epochEnd: 0 };
}

/** Runs `fn`, adding its wall-clock time to `timings[part]` when timings are kept. */
async function timed<T>(
  timings: EpochTimings | undefined,
  part: keyof EpochTimings,
  fn: () => T,
): Promise<Awaited<T>> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    if (timings) timings[part] += performance.now() - started;
  }
}

/** Two AUCs closer than this count as equal; the validation loss decides then. */
const AUC_TIE = 1e-4;

/** Whether `record` beats the best epoch so far on the monitored metric. */
export function isBetter(record: EpochRecord, best: BestEpoch | null, monitor: MonitorName): boolean {
  if (best === null) return true;
  if (monitor === 'loss') return record.valLoss < best.valLoss;
  if (Number.isNaN(best.valAuc) || record.valAuc > best.valAuc + AUC_TIE) return true;
  return Math.abs(record.valAuc - best.valAuc) <= AUC_TIE && record.valLoss < best.valLoss;
}

function weightedLoss(
  labels: Uint8Array,
  probabilities: ArrayLike<number>,
  weights: [number, number],
): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - PROBABILITY_EPS, Math.max(PROBABILITY_EPS, probabilities[i]));
    sum -= weights[labels[i]] * (labels[i] === 1 ? Math.log(p) : Math.log(1 - p));
  }
  return sum / labels.length;
}

function accuracyAtHalf(labels: Uint8Array, probabilities: ArrayLike<number>): number {
  return ratesFrom(confusionAt(labels, probabilities, 0.5)).accuracy;
}

/**
 * Optimiser steps per epoch. A last batch of a few images would give batch norm noisy statistics, so it is
 * dropped when under half a batch; the shuffle changes which images sit out from epoch to epoch.
 */
export function stepsPerEpoch(count: number, batchSize: number): number {
  const full = Math.floor(count / batchSize);
  return full > 0 && count % batchSize < batchSize / 2 ? full : Math.ceil(count / batchSize);
}

/** The full schedule of a run with these settings and training-set size. */
export function scheduleFor(settings: LoopSettings, trainCount: number): LearningRateSchedule {
  const steps = stepsPerEpoch(trainCount, settings.batchSize);
  const { warmupEpochs, ...rest } = settings.schedule;
  return { ...rest, warmupSteps: Math.round(warmupEpochs * steps), totalSteps: settings.epochs * steps };
}

interface EpochTrainResult {
  loss: number;
  accuracy: number;
  auc: number;
  learningRate: number;
  imagesPerSecond: number;
}

async function trainOneEpoch(options: RunTrainingOptions, epoch: number): Promise<EpochTrainResult> {
  const { trainer, train, settings } = options;
  const count = train.labels.length;
  const batches = stepsPerEpoch(count, settings.batchSize);
  const schedule = scheduleFor(settings, count);
  const weights = balancedClassWeights(train.labels);
  const builder = new BatchBuilder(train, settings.imageSize, settings.batchSize, weights);
  const order = seededPermutation(count, deriveSeed(settings.seed, 'shuffle', epoch));
  const used = Math.min(count, batches * settings.batchSize);
  const build = (b: number) => {
    const started = performance.now();
    const batch = builder.build(
      order.subarray(b * settings.batchSize, Math.min(used, (b + 1) * settings.batchSize)),
      deriveSeed(settings.seed, 'augment', epoch, b),
    );
    if (options.timings) options.timings.build += performance.now() - started;
    return batch;
  };
  // (The first batch is built before any step; the others while the previous one trains.)
  const seenLabels = new Uint8Array(used);
  const seenProbabilities = new Float32Array(used);
  let lossSum = 0;
  let learningRate = 0;
  const started = performance.now();
  let batch = build(0);
  for (let b = 0; b < batches; b++) {
    learningRate = learningRateAt(schedule, (epoch - 1) * batches + b);
    // In this thread the step runs inside trainer.step; with replicas it runs while the next batch is built.
    const stepStarted = performance.now();
    const pending = trainer.step(batch, learningRate, deriveSeed(settings.seed, 'dropout', epoch, b));
    const labels = batch.labels;
    const buildStarted = performance.now();
    if (b + 1 < batches) batch = build(b + 1);
    const buildMs = performance.now() - buildStarted;
    const step = await pending;
    if (options.timings) options.timings.step += performance.now() - stepStarted - buildMs;
    if (!Number.isFinite(step.loss)) {
      throw new Error(`training diverged: loss is ${step.loss} at epoch ${epoch}, batch ${b + 1}`);
    }
    lossSum += step.loss;
    seenLabels.set(labels, b * settings.batchSize);
    seenProbabilities.set(step.probabilities, b * settings.batchSize);
    await timed(options.timings, 'batchEnd', async () => {
      const seconds = (performance.now() - started) / 1000;
      const images = Math.min(used, (b + 1) * settings.batchSize);
      for (const hook of options.hooks ?? []) {
        hook.onBatchEnd?.({
          epoch,
          epochs: settings.epochs,
          batch: b + 1,
          batches,
          loss: lossSum / (b + 1),
          imagesPerSecond: images / Math.max(seconds, 1e-9),
        });
      }
      // Let timers and signal handlers run between steps (a step in this thread is one long synchronous call).
      await new Promise((resolve) => setImmediate(resolve));
    });
  }
  await timed(options.timings, 'sync', () => trainer.sync());
  return {
    loss: lossSum / batches,
    accuracy: accuracyAtHalf(seenLabels, seenProbabilities),
    auc: orNaN(() => rocAuc(seenLabels, seenProbabilities)),
    learningRate,
    imagesPerSecond: used / Math.max((performance.now() - started) / 1000, 1e-9),
  };
}

/** Trains from `state.epochsDone + 1` to `settings.epochs` (or until a hook stops it); returns the final state. */
export async function runTraining(options: RunTrainingOptions): Promise<TrainingState> {
  const { settings, state, val, model } = options;
  const weights = balancedClassWeights(options.train.labels);
  for (let epoch = state.epochsDone + 1; epoch <= settings.epochs && state.stopReason === null; epoch++) {
    const started = performance.now();
    const trained = await trainOneEpoch(options, epoch);
    await timed(options.timings, 'preciseBn', () =>
      recomputeBatchNormStatistics({
        model,
        pixels: options.train.pixels,
        imageSize: settings.imageSize,
        batchSize: settings.batchSize,
        seed: deriveSeed(settings.seed, epoch),
      }),
    );
    const valProbabilities = await timed(options.timings, 'validation', () =>
      predictRawProbabilities(model, val.pixels, {
        imageSize: settings.imageSize,
        batchSize: settings.evalBatchSize,
      }),
    );
    const record: EpochRecord = {
      epoch,
      learningRate: trained.learningRate,
      trainLoss: trained.loss,
      trainAccuracy: trained.accuracy,
      trainAuc: trained.auc,
      valLoss: weightedLoss(val.labels, valProbabilities, weights),
      valAccuracy: accuracyAtHalf(val.labels, valProbabilities),
      valAuc: orNaN(() => rocAuc(val.labels, valProbabilities)),
      seconds: (performance.now() - started) / 1000,
      imagesPerSecond: trained.imagesPerSecond,
    };
    const improved = isBetter(record, state.best, settings.monitor ?? 'loss');
    if (improved) state.best = { epoch, valAuc: record.valAuc, valLoss: record.valLoss };
    state.history.push(record);
    state.epochsDone = epoch;
    state.trainingSeconds += record.seconds;
    await timed(options.timings, 'epochEnd', async () => {
      for (const hook of options.hooks ?? []) {
        await hook.onEpochEnd?.({ record, state, improved, model, optimizer: options.optimizer });
      }
    });
  }
  return state;
}
