/**
 * `metadata.json`: everything needed to use a saved model correctly, so training and serving cannot drift
 * apart (input size, preprocessing, threshold, calibration) and a reader can tell where the model came from.
 */
import type { ClassName, DataFingerprint } from '../core/types.ts';

export const METADATA_FORMAT = 'pneumoscope-model';
export const METADATA_FORMAT_VERSION = 1;

/** How raw pixels become the model's input tensor. */
export interface PreprocessingConfig {
  /** Square input side in pixels; images are stretched to it (aspect ratio not kept, as in the training data). */
  imageSize: number;
  /** Always 1: images are converted to 8-bit grey-scale first. */
  channels: 1;
  /** How images are fitted to the square: `stretch` = resize without keeping aspect ratio. */
  resize: 'stretch';
  /**
   * The model's input tensor holds grey values in [0, 255] as float32; scaling and normalisation happen inside
   * the model's first layers, so callers never normalise by hand.
   */
  inputRange: [0, 255];
}

/** Maps the model's raw sigmoid output to a calibrated probability: p = sigmoid(logit(raw) / temperature). */
export interface CalibrationConfig {
  method: 'temperature' | 'none';
  temperature: number;
}

export interface ModelMetadata {
  format: typeof METADATA_FORMAT;
  formatVersion: typeof METADATA_FORMAT_VERSION;
  name: string;
  version: string;
  /** Registered architecture name (see src/model/architectures). */
  architecture: string;
  createdAt: string;
  preprocessing: PreprocessingConfig;
  /** Class names in output order; the model outputs P(classNames[1]). */
  classNames: [ClassName, ClassName];
  positiveClass: ClassName;
  /** Operating threshold on the calibrated probability. */
  threshold: number;
  /** How the threshold was chosen (e.g. "max-specificity@sensitivity>=0.95" or "youden"). */
  thresholdRule: string;
  calibration: CalibrationConfig;
  seed: number;
  data: DataFingerprint & { validation?: DataFingerprint };
  /** Validation metrics at the stored threshold (shape of evaluate's metrics.json), if known. */
  metrics?: Record<string, unknown>;
  /** How the model was trained; `cxr train` writes a `TrainingSummary` here. */
  training?: Record<string, unknown>;
  versions: Record<string, string>;
  /** Present when the model is an ensemble (src/model/ensemble.ts): how each member was trained. */
  ensemble?: { members: EnsembleMemberInfo[] };
}

/** One member of an ensemble model, as `cxr train --members K` trained it. */
export interface EnsembleMemberInfo {
  seed: number;
  /** The epoch whose weights the member keeps, and how many it ran. */
  bestEpoch: number;
  epochsRun: number;
  /** The member's own temperature, folded into its last layer before the logits are averaged. */
  temperature: number;
  /** The member's validation ROC-AUC at its best epoch. */
  valAuc: number;
}

/** What `cxr train` records in `metadata.training` (all fields optional for models made elsewhere). */
export interface TrainingSummary {
  epochsPlanned: number;
  epochsRun: number;
  /** Epoch whose weights were kept (best on the monitored validation metric). */
  bestEpoch: number;
  /** The validation metric that picked it: "loss" or "auc". */
  monitor?: string;
  /** Why training ended before `epochsPlanned`, or null. */
  stopReason: string | null;
  batchSize: number;
  learningRate: number;
  /** e.g. "adam, 1-epoch linear warm-up, cosine decay to 2% of the base rate". */
  schedule: string;
  /** Loss weights of [NORMAL, PNEUMONIA] that balance the classes. */
  classWeights: [number, number];
  augmentation: string;
  validation: { source: string; images: number; valFraction?: number };
  /** Wall-clock training seconds (all epochs, across resumed sessions), and per epoch. */
  seconds: number;
  secondsPerEpoch: number;
  imagesPerSecond: number;
  machine: { cpus: number; cpuModel: string; backend: string; threads?: number };
  /** The command line that reproduces the run. */
  command: string;
  warnings: string[];
}

/**
 * What is wrong with a model's preprocessing for this code, which feeds models 8-bit grey images stretched to a
 * square as values in [0, 255]: a model saved with anything else would be scored on the wrong input, silently.
 */
function preprocessingProblems(p: Partial<PreprocessingConfig> | undefined): string[] {
  if (!p || typeof p.imageSize !== 'number') return ['preprocessing.imageSize missing'];
  const problems: string[] = [];
  if (!Number.isInteger(p.imageSize) || p.imageSize < 1)
    problems.push('preprocessing.imageSize must be a positive integer');
  if (p.channels !== 1)
    problems.push(`preprocessing.channels is ${JSON.stringify(p.channels)}, only 1 (grey) is supported`);
  if (p.resize !== 'stretch')
    problems.push(`preprocessing.resize is ${JSON.stringify(p.resize)}, only "stretch" is supported`);
  if (!Array.isArray(p.inputRange) || p.inputRange[0] !== 0 || p.inputRange[1] !== 255) {
    problems.push(`preprocessing.inputRange is ${JSON.stringify(p.inputRange)}, only [0, 255] is supported`);
  }
  return problems;
}

/** Throws with a clear message when `value` is not a usable metadata object. */
export function validateMetadata(value: unknown, source: string): ModelMetadata {
  const m = value as Partial<ModelMetadata> | null;
  const problems: string[] = [];
  if (!m || typeof m !== 'object') throw new Error(`${source}: not a JSON object`);
  if (m.format !== METADATA_FORMAT)
    problems.push(`format is ${JSON.stringify(m.format)}, expected "${METADATA_FORMAT}"`);
  problems.push(...preprocessingProblems(m.preprocessing));
  if (typeof m.threshold !== 'number' || m.threshold < 0 || m.threshold > 1)
    problems.push('threshold must be in [0, 1]');
  if (!m.calibration || typeof m.calibration.temperature !== 'number' || m.calibration.temperature <= 0) {
    problems.push('calibration.temperature must be a positive number');
  }
  if (!Array.isArray(m.classNames) || m.classNames.length !== 2)
    problems.push('classNames must list 2 classes');
  if (problems.length > 0) throw new Error(`${source}: invalid model metadata: ${problems.join('; ')}`);
  return m as ModelMetadata;
}
