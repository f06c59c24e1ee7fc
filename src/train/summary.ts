/**
 * What a finished run records about itself: the training summary and the metadata.json that travel with the
 * model (and feed its model card).
 */
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AUGMENTATION_PRESETS, DEFAULT_AUGMENTATION, type ResolvedAugmentOptions } from '../data/augment.ts';
import { engineThreads } from '../engine/backend.ts';
import type { EvaluationMetrics } from '../metrics/summary.ts';
import { preprocessingFor } from '../model/architectures.ts';
import {
  METADATA_FORMAT,
  METADATA_FORMAT_VERSION,
  type ModelMetadata,
  type TrainingSummary,
} from '../model/metadata.ts';
import { balancedClassWeights } from './batches.ts';
import type { TrainConfig } from './config.ts';
import type { PreparedData } from './data.ts';
import type { TrainingState } from './loop.ts';

/** For metadata and the model card: what the augmenter does with `o`. */
export function describeAugmentation(
  enabled: boolean,
  o: ResolvedAugmentOptions = DEFAULT_AUGMENTATION,
): string {
  if (!enabled) return 'none';
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const zoom = o.zoomRange ? `zoom ${o.zoomRange[0]}–${o.zoomRange[1]}×` : `zoom ±${pct(o.scale)}`;
  const extras = [
    o.gamma !== 1 ? `gamma ${Number((1 / o.gamma).toFixed(3))}–${o.gamma}` : '',
    o.sharpness !== 0 ? `blur/sharpen ±${o.sharpness}` : '',
    o.noise !== 0 ? `noise σ ≤ ${o.noise} grey levels` : '',
  ].filter(Boolean);
  return (
    `random rotation ±${o.rotationDegrees}°, ${zoom}, shift ±${pct(o.shift)}, ` +
    `brightness ±${pct(o.brightness)}, contrast ±${pct(o.contrast)}${extras.map((e) => `, ${e}`).join('')} ` +
    `(${o.fill} fill); no flips`
  );
}

/** The augmentation settings a training config asks for, or null for none. */
export function trainingAugmentation(
  config: Pick<TrainConfig, 'augment' | 'augmentation'>,
): ResolvedAugmentOptions | null {
  return config.augment ? AUGMENTATION_PRESETS[config.augmentation] : null;
}

function versions(backend: string): Record<string, string> {
  return {
    pneumoscope: process.env.npm_package_version ?? '0.1.0',
    'tfjs-core': tf.version_core,
    'tfjs-layers': tfl.version_layers,
    node: process.version,
    backend,
  };
}

function scheduleText(config: TrainConfig): string {
  const warmup = config.warmupEpochs > 0 ? `${config.warmupEpochs}-epoch linear warm-up, ` : '';
  return `adam, ${warmup}cosine decay to ${config.finalLearningRateFactor * 100}% of the base rate`;
}

export function trainingSummary(
  config: TrainConfig,
  state: TrainingState,
  data: PreparedData,
  extra: { backend: string; command: string; warnings: string[] },
): TrainingSummary {
  const cpus = os.cpus();
  const images = state.history.reduce((n, r) => n + r.imagesPerSecond * r.seconds, 0);
  return {
    epochsPlanned: config.epochs,
    epochsRun: state.epochsDone,
    bestEpoch: state.best?.epoch ?? state.epochsDone,
    monitor: config.monitor,
    stopReason: state.stopReason,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    schedule: scheduleText(config),
    classWeights: balancedClassWeights(data.train.labels),
    augmentation: describeAugmentation(config.augment, trainingAugmentation(config) ?? undefined),
    validation: {
      source: data.valSource,
      images: data.val.labels.length,
      ...(data.valSource === 'carved' ? { valFraction: config.valFraction, design: config.valSplit } : {}),
    },
    seconds: state.trainingSeconds,
    secondsPerEpoch: state.trainingSeconds / Math.max(1, state.epochsDone),
    imagesPerSecond:
      images /
      Math.max(
        1e-9,
        state.history.reduce((s, r) => s + r.seconds, 0),
      ),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      backend: extra.backend,
      threads: engineThreads(),
    },
    command: extra.command,
    warnings: extra.warnings,
  };
}

export function buildMetadata(options: {
  outDir: string;
  config: TrainConfig;
  data: PreparedData;
  operating: { temperature: number; threshold: number; rule: string; metrics: EvaluationMetrics };
  training: TrainingSummary;
  backend: string;
}): ModelMetadata {
  const { config, data, operating } = options;
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_FORMAT_VERSION,
    name: path.basename(path.resolve(options.outDir)),
    version: process.env.npm_package_version ?? '0.1.0',
    architecture: config.architecture,
    createdAt: new Date().toISOString(),
    preprocessing: preprocessingFor(config.architecture, config.imageSize),
    classNames: ['NORMAL', 'PNEUMONIA'],
    positiveClass: 'PNEUMONIA',
    threshold: operating.threshold,
    thresholdRule: operating.rule,
    calibration: { method: 'temperature', temperature: operating.temperature },
    seed: config.seed,
    data: { ...data.trainFingerprint, validation: data.valFingerprint },
    metrics: operating.metrics as unknown as Record<string, unknown>,
    training: options.training as unknown as Record<string, unknown>,
    versions: versions(options.backend),
  };
}
