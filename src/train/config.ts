/** The settings of a training run, their defaults, and the checks that reject bad values early. */

import { describeBounds, type NumberBounds, withinBounds } from '../core/bounds.ts';
import { AUGMENTATION_PRESETS, type AugmentPreset } from '../data/augment.ts';
import { SPLIT_DESIGNS, type SplitDesign } from '../data/split.ts';
import { THRESHOLD_RULES, type ThresholdRuleName } from '../metrics/threshold.ts';
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
  /** How the carved validation set picks its patients: at random, or the most tightly framed / atypical films. */
  valSplit: SplitDesign;
  /** Share of training patients carved out for validation (when no validation folder is used). */
  valFraction: number;
  seed: number;
  /** Seed of the patient split when it should differ from `seed`. */
  splitSeed?: number;
  /** Validation metric that picks the kept epoch and drives early stopping. */
  monitor: MonitorName;
  /** Epochs without improvement of the monitored metric before stopping; 0 = never stop early. */
  patience: number;
  thresholdRule: ThresholdRuleName;
  /** Random geometric and intensity augmentation of training images. */
  augment: boolean;
  /** Ensemble members trained (seeds seed, seed+1, ...) and saved as one model; 1 = a single network. */
  members: number;
  /** How strong the augmentation is (a name in AUGMENTATION_PRESETS). */
  augmentation: AugmentPreset;
  /** Dropout before the classifier and L2 weight decay, passed to the architecture. */
  dropout?: number;
  l2?: number;
}

/** The validation metrics that can pick the kept epoch. */
export const MONITORS: readonly MonitorName[] = ['loss', 'auc'];

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
  augmentation: 'mild',
  members: 1,
  valSplit: 'random',
};

/** The one set of bounds of the numeric settings; the CLI's option parsers read them too. */
export const TRAIN_CONFIG_BOUNDS = {
  imageSize: { integer: true, min: 16 },
  epochs: { integer: true, min: 1 },
  batchSize: { integer: true, min: 2 },
  learningRate: { min: 0, max: 1, exclusive: true },
  // Under half: a larger share would validate on more patients than it trains on.
  valFraction: { min: 0, max: 0.5, exclusive: true },
  seed: { integer: true, min: 0 },
  splitSeed: { integer: true, min: 0 },
  members: { integer: true, min: 1, max: 16 },
  patience: { integer: true, min: 0 },
  warmupEpochs: { min: 0 },
} as const satisfies Partial<Record<keyof TrainConfig, NumberBounds>>;

/** A bad training setting, naming the TrainConfig field (the CLI maps it to its flag). */
export class TrainConfigError extends Error {
  readonly field: keyof TrainConfig;
  /** What the field must be, e.g. "an integer >= 1". */
  readonly requirement: string;
  readonly value: unknown;
  constructor(field: keyof TrainConfig, requirement: string, value: unknown) {
    super(`${field} must be ${requirement}, got ${value}`);
    this.name = 'TrainConfigError';
    this.field = field;
    this.requirement = requirement;
    this.value = value;
  }
}

/** Fills defaults and validates; throws a TrainConfigError for the first bad value. */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const architecture = partial.architecture ?? DEFAULT_TRAIN_CONFIG.architecture;
  const arch = getArchitecture(architecture);
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    imageSize: arch.defaultImageSize,
    ...stripUndefined(partial),
  };
  for (const [field, bounds] of Object.entries(TRAIN_CONFIG_BOUNDS) as [keyof TrainConfig, NumberBounds][]) {
    const value = config[field] as number | undefined;
    // Optional settings (splitSeed) may be absent; every other field has a default by now.
    if (value === undefined) continue;
    if (!withinBounds(value, bounds)) throw new TrainConfigError(field, describeBounds(bounds), value);
  }
  if (!MONITORS.includes(config.monitor)) {
    throw new TrainConfigError('monitor', `one of ${MONITORS.join(', ')}`, config.monitor);
  }
  if (!(config.thresholdRule in THRESHOLD_RULES)) {
    throw new TrainConfigError(
      'thresholdRule',
      `one of ${Object.keys(THRESHOLD_RULES).join(', ')}`,
      config.thresholdRule,
    );
  }
  if (!SPLIT_DESIGNS.includes(config.valSplit)) {
    throw new TrainConfigError('valSplit', `one of ${SPLIT_DESIGNS.join(', ')}`, config.valSplit);
  }
  if (!(config.augmentation in AUGMENTATION_PRESETS)) {
    throw new TrainConfigError(
      'augmentation',
      `one of ${Object.keys(AUGMENTATION_PRESETS).join(', ')}`,
      config.augmentation,
    );
  }
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
