/**
 * `metadata.json`: everything needed to use a saved model correctly, so training and serving cannot drift
 * apart (input size, preprocessing, threshold, calibration) and a reader can tell where the model came from.
 */
import type { ClassName, DataFingerprint } from '../core/types.ts';
import type { Confusion } from '../metrics/confusion.ts';
import type { EvaluationMetrics } from '../metrics/summary.ts';
import type { GateConfig } from './gate-config.ts';

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

/** Temperature scaling: p = sigmoid(logit(raw) / temperature). What training fits on its validation split. */
export interface TemperatureCalibration {
  method: 'temperature';
  temperature: number;
}

/**
 * Platt scaling: p = sigmoid(a · logit(raw) + b). The intercept b also absorbs a change in the share of
 * pneumonia images, which a temperature cannot; `cxr calibrate --method platt` fits it on a site's images.
 */
export interface PlattCalibration {
  method: 'platt';
  a: number;
  b: number;
}

/** The raw output is used as it is (models made elsewhere, test fixtures). */
export interface NoCalibration {
  method: 'none';
  temperature?: number;
}

/** Maps the model's raw sigmoid output to a calibrated probability (applied in src/model/infer.ts only). */
export type CalibrationConfig = TemperatureCalibration | PlattCalibration | NoCalibration;

/** The calibration in words: "temperature scaling (T = 1.092)", "Platt scaling (a = 0.812, b = −0.341)". */
export function describeCalibration(c: CalibrationConfig, digits = 3): string {
  if (c.method === 'platt') return `Platt scaling (a = ${c.a.toFixed(digits)}, b = ${c.b.toFixed(digits)})`;
  if (c.method === 'temperature') return `temperature scaling (T = ${c.temperature.toFixed(digits)})`;
  return 'none (raw model output)';
}

/**
 * Where a set of measured metrics came from. `validation`: the random patient split carved from the training
 * data; `shift`: the same images under the validation shift suite (src/data/shift.ts); `external`: a labelled
 * dataset measured with `cxr evaluate --attach`; `site-calibration`: the images `cxr calibrate` fitted on.
 */
export type EvaluationKind = 'validation' | 'shift' | 'external' | 'site-calibration';

export const EVALUATION_KINDS: readonly EvaluationKind[] = [
  'validation',
  'shift',
  'external',
  'site-calibration',
];

/** One shift of the shift suite, summarised (the pooled metrics are the record's `metrics`). */
export interface ShiftSummary {
  description?: string;
  n: number;
  rocAuc: number;
  sensitivity: number;
  specificity: number;
  ece: number;
  /** Wilson intervals for the rates, bootstrap (or score) interval for ROC-AUC. */
  ci95: Pick<EvaluationMetrics['ci95'], 'sensitivity' | 'specificity' | 'rocAuc'>;
}

/** Metrics measured on one labelled set at the model's stored threshold, with where and how. */
export interface EvaluationRecord {
  kind: EvaluationKind;
  /** e.g. "random patient split", "shift suite", "St Elsewhere 2027 test set". */
  name: string;
  createdAt: string;
  /** Fingerprint of the images measured (count, per class counts, sha256 of the file list). */
  data?: DataFingerprint;
  n: number;
  /** The metrics.json block, with `ci95` (Wilson for rates, bootstrap for ROC-AUC). */
  metrics: EvaluationMetrics;
  /** Per shift of the suite (kind `shift`). */
  perShift?: Record<string, ShiftSummary>;
  /** The command line that measured it. */
  command?: string;
  note?: string;
}

/**
 * What the recalibrated model can be expected to do on the site's next images: k-fold cross-validation by
 * patient on the calibration images (fit on k − 1 folds, measure on the one left out, counts summed).
 */
export interface CrossValidatedEstimate {
  folds: number;
  n: number;
  sensitivity: number;
  specificity: number;
  /** ECE of the pooled out-of-fold probabilities. */
  ece: number;
  confusion: Confusion;
  /** Wilson intervals on the summed counts. */
  ci95: { sensitivity: [number, number]; specificity: [number, number] };
}

/** What `cxr calibrate` changed, and on what, so a recalibrated model can be traced back to its parent. */
export interface RecalibrationRecord {
  createdAt: string;
  /** The model it was recalibrated from. */
  from: {
    name: string;
    version: string;
    createdAt: string;
    threshold: number;
    thresholdRule: string;
    calibration: CalibrationConfig;
  };
  /** The calibration refitted on the local images, or `none` when only batch-norm statistics were adapted. */
  method: CalibrationConfig['method'];
  /** The threshold rule applied on the local images; null when the threshold was kept (unlabelled data). */
  thresholdRule: string | null;
  /** Batch-norm statistics re-estimated on the local images (AdaBN). */
  adaptBn: boolean;
  /** Whether the local images carried labels. */
  labelled: boolean;
  /** Images used (after unreadable files were skipped). */
  n: number;
  data?: DataFingerprint;
  /** Labelled data only: the cross-validated estimate for new images of the site. */
  crossValidated?: CrossValidatedEstimate;
  command: string;
  note?: string;
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
  /**
   * Validation metrics at the stored threshold (shape of evaluate's metrics.json), if known. Older models carry
   * only this; readers treat it as the `validation` record (see src/model/evaluations.ts).
   */
  metrics?: Record<string, unknown>;
  /** Every measurement of this model: validation, shift suite, external evaluations, site calibration. */
  evaluations?: EvaluationRecord[];
  /** Set when `cxr calibrate` made this model from another one. */
  recalibration?: RecalibrationRecord;
  /** How the model was trained; `cxr train` writes a `TrainingSummary` here. */
  training?: Record<string, unknown>;
  versions: Record<string, string>;
  /** Present when the model is an ensemble (src/model/ensemble.ts): how each member was trained. */
  ensemble?: { members: EnsembleMemberInfo[] };
  /** The input gate's learned check (src/gate); absent = cheap checks only. Written by training and `cxr gate`. */
  gate?: GateConfig;
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
  validation: { source: string; images: number; valFraction?: number; design?: string };
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

function positive(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

function calibrationProblems(c: Partial<CalibrationConfig> | undefined): string[] {
  if (!c || typeof c !== 'object') return ['calibration missing'];
  switch (c.method) {
    case 'temperature':
      return positive(c.temperature) ? [] : ['calibration.temperature must be a positive number'];
    case 'platt':
      // a ≤ 0 would turn the ranking round (or flatten it): no calibration may do that.
      return positive(c.a) && typeof c.b === 'number' && Number.isFinite(c.b)
        ? []
        : ['Platt calibration needs a positive number a and a finite number b'];
    case 'none':
      return [];
    default:
      return [`calibration.method is ${JSON.stringify(c.method)}, expected "temperature", "platt" or "none"`];
  }
}

function evaluationProblems(evaluations: unknown): string[] {
  if (!Array.isArray(evaluations)) return ['evaluations must be a list'];
  return evaluations.flatMap((e: Partial<EvaluationRecord> | null, i) => {
    if (!e || typeof e !== 'object') return [`evaluations[${i}] is not an object`];
    const problems: string[] = [];
    if (!EVALUATION_KINDS.includes(e.kind as EvaluationKind))
      problems.push(
        `evaluations[${i}].kind is ${JSON.stringify(e.kind)}, expected one of ${EVALUATION_KINDS.join(', ')}`,
      );
    if (!e.metrics || typeof e.metrics !== 'object') problems.push(`evaluations[${i}].metrics missing`);
    return problems;
  });
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
  problems.push(...calibrationProblems(m.calibration));
  if (m.evaluations !== undefined) problems.push(...evaluationProblems(m.evaluations));
  if (!Array.isArray(m.classNames) || m.classNames.length !== 2)
    problems.push('classNames must list 2 classes');
  if (problems.length > 0) throw new Error(`${source}: invalid model metadata: ${problems.join('; ')}`);
  return m as ModelMetadata;
}
