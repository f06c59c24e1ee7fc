/**
 * Percentile bootstrap confidence intervals. Resampling is stratified by class: each resample draws as many
 * positives and negatives as the data have, so every resample keeps the class balance the set was collected
 * with and class-conditional metrics (sensitivity, specificity, ROC-AUC) are always defined.
 */
import { randomInt, seededRandom } from '../core/random.ts';
import { checkBinaryInput, UndefinedMetricError } from './errors.ts';

/** A metric of labels and probabilities, e.g. `(y, p) => rocAuc(y, p)`. */
export type Statistic = (labels: Uint8Array, probabilities: Float64Array) => number;

export interface BootstrapOptions {
  labels: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  statistics: Record<string, Statistic>;
  /** Number of resamples (default 1,000). */
  samples?: number;
  seed?: number;
  /** Central coverage of the interval (default 0.95). */
  level?: number;
}

/** [lower, upper] per statistic; [NaN, NaN] when the statistic was undefined on most resamples. */
export type ConfidenceIntervals = Record<string, [number, number]>;

export const DEFAULT_BOOTSTRAP_SAMPLES = 1000;

/** The q-quantile of sorted values with linear interpolation between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

function indicesByClass(labels: ArrayLike<number>): [number[], number[]] {
  const negatives: number[] = [];
  const positives: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? positives : negatives).push(i);
  return [negatives, positives];
}

function safe(statistic: Statistic, labels: Uint8Array, probabilities: Float64Array): number {
  try {
    return statistic(labels, probabilities);
  } catch (err) {
    if (err instanceof UndefinedMetricError) return Number.NaN;
    throw err;
  }
}

export function bootstrapConfidenceIntervals(options: BootstrapOptions): ConfidenceIntervals {
  const { labels, probabilities, statistics } = options;
  const samples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  const level = options.level ?? 0.95;
  checkBinaryInput(labels, probabilities, 'bootstrap');
  const random = seededRandom(options.seed ?? 0);
  const groups = indicesByClass(labels);
  const n = labels.length;
  const resampledLabels = new Uint8Array(n);
  const resampledProbabilities = new Float64Array(n);
  const names = Object.keys(statistics);
  const values: number[][] = names.map(() => []);
  for (let s = 0; s < samples; s++) {
    let k = 0;
    for (const group of groups) {
      for (let j = 0; j < group.length; j++) {
        const i = group[randomInt(random, group.length)];
        resampledLabels[k] = labels[i];
        resampledProbabilities[k] = probabilities[i];
        k++;
      }
    }
    names.forEach((name, m) => {
      const value = safe(statistics[name], resampledLabels, resampledProbabilities);
      if (!Number.isNaN(value)) values[m].push(value);
    });
  }
  const tail = (1 - level) / 2;
  const intervals: ConfidenceIntervals = {};
  names.forEach((name, m) => {
    const sorted = values[m].sort((a, b) => a - b);
    intervals[name] =
      sorted.length * 2 < samples
        ? [Number.NaN, Number.NaN]
        : [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)];
  });
  return intervals;
}
