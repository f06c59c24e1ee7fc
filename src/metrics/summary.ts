/**
 * The metrics block written to metrics.json (by `cxr evaluate`) and stored in metadata.json (validation metrics
 * of a trained model). Positive class = PNEUMONIA. Undefined metrics (e.g. specificity on a folder with no
 * NORMAL image) are NaN here and `null` in JSON, with a warning; never a made-up number.
 */
import { bootstrapConfidenceIntervals, DEFAULT_BOOTSTRAP_SAMPLES } from './bootstrap.ts';
import { brierScore, expectedCalibrationError, logLoss } from './calibration.ts';
import { type Confusion, confusionAt, ratesFrom } from './confusion.ts';
import { orNaN } from './errors.ts';
import { aucScoreInterval, type Interval, isDegenerate, wilsonInterval } from './intervals.ts';
import { averagePrecision } from './pr.ts';
import { rocAuc } from './roc.ts';

/**
 * 95% confidence intervals. Proportions: Wilson score intervals on the confusion counts (never of zero width,
 * even at 0 or 1). ROC-AUC: stratified percentile bootstrap, or, when the bootstrap collapses to a point (every
 * resample perfectly separated) or is skipped, a score interval on the Hanley–McNeil variance (`ciMethod` says
 * which).
 */
export interface MetricIntervals {
  accuracy: Interval;
  sensitivity: Interval;
  specificity: Interval;
  precision: Interval;
  npv: Interval;
  rocAuc: Interval;
}

/** How the intervals were computed, so a reader can tell a bootstrap from its fallback. */
export interface IntervalMethods {
  proportions: 'wilson';
  rocAuc: 'stratified-bootstrap' | 'hanley-mcneil-score';
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
  ciMethod: IntervalMethods;
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
  /**
   * Bootstrap resamples for the ROC-AUC interval (default 1,000; 0 skips the bootstrap and uses the score
   * interval). Proportions always get Wilson intervals.
   */
  bootstrapSamples?: number;
  seed?: number;
}

/** Wilson intervals for the rates of a confusion matrix (NaN where the rate itself is undefined). */
export function proportionIntervals(c: Confusion, level = 0.95): Omit<MetricIntervals, 'rocAuc'> {
  return {
    accuracy: wilsonInterval(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn, level),
    sensitivity: wilsonInterval(c.tp, c.tp + c.fn, level),
    specificity: wilsonInterval(c.tn, c.tn + c.fp, level),
    precision: wilsonInterval(c.tp, c.tp + c.fp, level),
    npv: wilsonInterval(c.tn, c.tn + c.fn, level),
  };
}

/** The ROC-AUC interval and how it was found: bootstrap first, the score interval where that says nothing. */
function aucInterval(options: ComputeMetricsOptions): {
  interval: Interval;
  method: IntervalMethods['rocAuc'];
} {
  const { labels, probabilities } = options;
  const auc = orNaN(() => rocAuc(labels, probabilities));
  if (Number.isNaN(auc)) return { interval: [Number.NaN, Number.NaN], method: 'stratified-bootstrap' };
  const samples = options.bootstrapSamples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  if (samples > 0) {
    const { rocAuc: interval } = bootstrapConfidenceIntervals({
      labels,
      probabilities,
      statistics: { rocAuc: (y, p) => rocAuc(y, p) },
      samples,
      seed: options.seed ?? 0,
    });
    if (!isDegenerate(interval)) return { interval, method: 'stratified-bootstrap' };
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return {
    interval: aucScoreInterval(auc, positives, labels.length - positives),
    method: 'hanley-mcneil-score',
  };
}

function blockAt(
  options: ComputeMetricsOptions,
  threshold: number,
  auc: ReturnType<typeof aucInterval>,
): ThresholdMetrics {
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
    ci95: { ...proportionIntervals(confusion), rocAuc: auc.interval },
    ciMethod: { proportions: 'wilson', rocAuc: auc.method },
  };
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
  const auc = aucInterval(options);
  return { ...blockAt(options, options.threshold, auc), atHalf: blockAt(options, 0.5, auc) };
}
