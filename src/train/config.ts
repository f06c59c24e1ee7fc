/** The settings of a training run, their defaults, and the checks that reject bad values early. */

import { THRESHOLD_RULES, type ThresholdRuleName } from '../evaluate/threshold.ts';
import { getArchitecture } from '../model/architectures.ts';
import type { MonitorName } from './loop.ts';

/** Everything that determines the trained weights. Stored in checkpoints: a resumed run reuses it as it is. */
export interface TrainConfig {
  architecture: string;
  /** Square input side; defaults to the architecture's own default. */
  imageSize: number;
  epochs: number;
  batchSize: number;
  /** Peak Adam learning rate. */
  learningRate: number;
  /** Linear warm-up length in epochs (may be fractional). */
  warmupEpochs: number;
  /** Final learning rate of the cosine decay, as a fraction of the peak. */
  finalLearningRateFactor: number;
  /** Share of training patients carved out for validation (when no validation folder is used). */
  valFraction: number;
  seed: number;
  /** Validation metric that picks the kept epoch and drives early stopping. */
  monitor: MonitorName;
  /** Epochs without improvement of the monitored metric before stopping; 0 = never stop early. */
  patience: number;
  thresholdRule: ThresholdRuleName;
  /** Random geometric and intensity augmentation of training images. */
  augment: boolean;
  /** Dropout before the classifier and L2 weight decay, passed to the architecture. */
  dropout?: number;
  l2?: number;
}

export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, 'imageSize'> = {
  architecture: 'default',
  epochs: 8,
  batchSize: 32,
  learningRate: 2e-3,
  warmupEpochs: 1,
  finalLearningRateFactor: 0.02,
  valFraction: 0.1,
  seed: 42,
  monitor: 'loss',
  patience: 4,
  thresholdRule: 'sens95',
  augment: true,
};

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Fills defaults and validates; throws a clear message for the first bad value. */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const architecture = partial.architecture ?? DEFAULT_TRAIN_CONFIG.architecture;
  const arch = getArchitecture(architecture);
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    imageSize: arch.defaultImageSize,
    ...stripUndefined(partial),
  };
  const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
  check(
    positiveInt(config.imageSize) && config.imageSize >= 16,
    `--image-size must be an integer >= 16, got ${config.imageSize}`,
  );
  check(positiveInt(config.epochs), `--epochs must be a positive integer, got ${config.epochs}`);
  check(
    positiveInt(config.batchSize) && config.batchSize >= 2,
    `--batch-size must be an integer >= 2, got ${config.batchSize}`,
  );
  check(
    config.learningRate > 0 && config.learningRate < 1,
    `--lr must be in (0, 1), got ${config.learningRate}`,
  );
  check(
    config.valFraction > 0 && config.valFraction < 0.5,
    `--val-fraction must be in (0, 0.5), got ${config.valFraction}`,
  );
  check(
    Number.isInteger(config.seed) && config.seed >= 0,
    `--seed must be a non-negative integer, got ${config.seed}`,
  );
  check(
    Number.isInteger(config.patience) && config.patience >= 0,
    `--patience must be an integer >= 0, got ${config.patience}`,
  );
  check(config.warmupEpochs >= 0, `warm-up epochs must be >= 0, got ${config.warmupEpochs}`);
  check(
    config.monitor === 'loss' || config.monitor === 'auc',
    `--monitor must be loss or auc, got ${config.monitor}`,
  );
  check(
    config.thresholdRule in THRESHOLD_RULES,
    `--threshold-rule must be one of ${Object.keys(THRESHOLD_RULES).join(', ')}, got ${config.thresholdRule}`,
  );
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Settings the user asked for that differ from a checkpoint's (a resumed run keeps the checkpoint's). */
export function configDifferences(stored: TrainConfig, requested: Partial<TrainConfig>): string[] {
  return Object.entries(stripUndefined(requested))
    .filter(([key, value]) => stored[key as keyof TrainConfig] !== value)
    .map(([key, value]) => `${key}: checkpoint has ${stored[key as keyof TrainConfig]}, asked for ${value}`);
}
