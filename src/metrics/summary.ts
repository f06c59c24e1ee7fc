/**
 * The metrics block written to metrics.json (by `cxr evaluate`) and stored in metadata.json (validation metrics
 * of a trained model). Positive class = PNEUMONIA. Undefined metrics (e.g. specificity on a folder with no
 * NORMAL image) are NaN here and `null` in JSON, with a warning; never a made-up number.
 */
import { bootstrapConfidenceIntervals, DEFAULT_BOOTSTRAP_SAMPLES, type Statistic } from './bootstrap.ts';
import { brierScore, expectedCalibrationError, logLoss } from './calibration.ts';
import { type Confusion, confusionAt, ratesFrom } from './confusion.ts';
import { orNaN } from './errors.ts';
import { averagePrecision } from './pr.ts';
import { rocAuc } from './roc.ts';

/** 95% confidence intervals (stratified percentile bootstrap). */
export interface MetricIntervals {
  accuracy: [number, number];
  sensitivity: [number, number];
  specificity: [number, number];
  rocAuc: [number, number];
}

/** Everything measured at one threshold (key order is the order of metrics.json). */
export interface ThresholdMetrics {
  n: number;
  threshold: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  npv: number;
  f1: number;
  rocAuc: number;
  prAuc: number;
  logLoss: number;
  brier: number;
  /** Expected calibration error over 10 equal-width bins. */
  ece: number;
  confusion: Confusion;
  ci95: MetricIntervals;
}

/** metrics.json: metrics at the model's stored threshold, and the same block at 0.5 under `atHalf`. */
export interface EvaluationMetrics extends ThresholdMetrics {
  atHalf: ThresholdMetrics;
}

export interface ComputeMetricsOptions {
  /** 0 = NORMAL, 1 = PNEUMONIA. */
  labels: ArrayLike<number>;
  /** Calibrated P(PNEUMONIA). */
  probabilities: ArrayLike<number>;
  threshold: number;
  /** Bootstrap resamples for the confidence intervals (default 1,000; 0 skips them, giving NaN intervals). */
  bootstrapSamples?: number;
  seed?: number;
}

function thresholdStatistics(threshold: number): Record<string, Statistic> {
  const rate = (key: 'accuracy' | 'sensitivity' | 'specificity'): Statistic => {
    return (y, p) => ratesFrom(confusionAt(y, p, threshold))[key];
  };
  return { accuracy: rate('accuracy'), sensitivity: rate('sensitivity'), specificity: rate('specificity') };
}

function intervalsFor(all: Record<string, [number, number]>, prefix: string): MetricIntervals {
  return {
    accuracy: all[`${prefix}accuracy`],
    sensitivity: all[`${prefix}sensitivity`],
    specificity: all[`${prefix}specificity`],
    rocAuc: all.rocAuc,
  };
}

function blockAt(options: ComputeMetricsOptions, threshold: number, ci95: MetricIntervals): ThresholdMetrics {
  const { labels, probabilities } = options;
  const confusion = confusionAt(labels, probabilities, threshold);
  const rates = ratesFrom(confusion);
  return {
    n: labels.length,
    threshold,
    ...rates,
    rocAuc: orNaN(() => rocAuc(labels, probabilities)),
    prAuc: orNaN(() => averagePrecision(labels, probabilities)),
    logLoss: logLoss(labels, probabilities),
    brier: brierScore(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities),
    confusion,
    ci95,
  };
}

function confidenceIntervals(options: ComputeMetricsOptions): Record<string, [number, number]> {
  const samples = options.bootstrapSamples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  const statistics: Record<string, Statistic> = { rocAuc: (y, p) => rocAuc(y, p) };
  for (const [prefix, threshold] of [
    ['', options.threshold],
    ['half.', 0.5],
  ] as const) {
    for (const [name, fn] of Object.entries(thresholdStatistics(threshold))) statistics[prefix + name] = fn;
  }
  if (samples <= 0) {
    return Object.fromEntries(Object.keys(statistics).map((k) => [k, [Number.NaN, Number.NaN]]));
  }
  return bootstrapConfidenceIntervals({
    labels: options.labels,
    probabilities: options.probabilities,
    statistics,
    samples,
    seed: options.seed ?? 0,
  });
}

/** Problems a reader should know about, e.g. a class missing from the data. */
export function metricWarnings(labels: ArrayLike<number>): string[] {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  const negatives = labels.length - positives;
  const warnings: string[] = [];
  if (positives === 0) {
    warnings.push('no PNEUMONIA images: sensitivity, ROC-AUC and PR-AUC are undefined (null)');
  }
  if (negatives === 0) warnings.push('no NORMAL images: specificity and ROC-AUC are undefined (null)');
  return warnings;
}

/** Computes the metrics.json block. Throws on empty or malformed input. */
export function computeMetrics(options: ComputeMetricsOptions): EvaluationMetrics {
  const intervals = confidenceIntervals(options);
  return {
    ...blockAt(options, options.threshold, intervalsFor(intervals, '')),
    atHalf: blockAt(options, 0.5, intervalsFor(intervals, 'half.')),
  };
}
