/**
 * Probability quality: log-loss, Brier score, reliability bins and expected calibration error (ECE), and fitting
 * the temperature that calibrates a model's logits on validation data.
 */
import { checkBinaryInput } from './errors.ts';

/** Probabilities are clipped to [EPS, 1 - EPS] for log-loss and logits, as Keras does, so one confident mistake costs a large but finite amount. */
export const PROBABILITY_EPS = 1e-7;

/** Default number of equal-width bins for ECE and reliability diagrams. */
export const DEFAULT_CALIBRATION_BINS = 10;

function clip(p: number): number {
  return Math.min(1 - PROBABILITY_EPS, Math.max(PROBABILITY_EPS, p));
}

/** Mean binary cross-entropy in nats. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkBinaryInput(labels, probabilities, 'log-loss');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = clip(probabilities[i]);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Mean squared difference between probability and label. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkBinaryInput(labels, probabilities, 'Brier score');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i] - labels[i]) ** 2;
  return sum / labels.length;
}

/** One equal-width probability bin of a reliability diagram. Empty bins have NaN means. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability of the samples in the bin. */
  meanProbability: number;
  /** Fraction of positives among them. */
  positiveFraction: number;
}

/** Bins [0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1]; a probability of exactly 1 falls in the last bin. */
export function reliabilityBins(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  binCount = DEFAULT_CALIBRATION_BINS,
): ReliabilityBin[] {
  checkBinaryInput(labels, probabilities, 'reliability bins');
  const count = new Array<number>(binCount).fill(0);
  const sumP = new Array<number>(binCount).fill(0);
  const sumY = new Array<number>(binCount).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i];
    const b = Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
    count[b]++;
    sumP[b] += p;
    sumY[b] += labels[i];
  }
  return count.map((n, b) => ({
    lower: b / binCount,
    upper: (b + 1) / binCount,
    count: n,
    meanProbability: n === 0 ? Number.NaN : sumP[b] / n,
    positiveFraction: n === 0 ? Number.NaN : sumY[b] / n,
  }));
}

/** ECE: the sample-weighted mean gap between mean probability and positive fraction over the bins. */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  binCount = DEFAULT_CALIBRATION_BINS,
): number {
  const bins = reliabilityBins(labels, probabilities, binCount);
  let sum = 0;
  for (const bin of bins) {
    if (bin.count > 0) sum += bin.count * Math.abs(bin.meanProbability - bin.positiveFraction);
  }
  return sum / labels.length;
}

/** log(p / (1 - p)) of a clipped probability: the inverse of the model's sigmoid output. */
export function probabilityToLogit(p: number): number {
  const q = clip(p);
  return Math.log(q / (1 - q));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Mean NLL of labels under sigmoid(logit / temperature). */
export function temperatureNll(
  labels: ArrayLike<number>,
  logits: ArrayLike<number>,
  temperature: number,
): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const z = logits[i] / temperature;
    // log(1 + e^z) - y z, computed without overflow.
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    sum += softplus - labels[i] * z;
  }
  return sum / labels.length;
}

/** Temperatures are kept in this range: outside it the data carry no usable information about the scale. */
export const TEMPERATURE_RANGE: readonly [number, number] = [0.05, 20];

/**
 * The temperature T minimising the mean NLL of sigmoid(logit / T) on (validation) data. The NLL is convex in
 * the inverse temperature a = 1/T (it is a one-parameter logistic regression), so bisection on the sign of its
 * derivative, mean((sigmoid(a z) - y) z), finds the unique optimum. With separable data the optimum is at the
 * edge of TEMPERATURE_RANGE and is clamped there.
 */
export function fitTemperature(labels: ArrayLike<number>, logits: ArrayLike<number>): number {
  checkBinaryInput(labels, logits, 'temperature fitting');
  const derivative = (a: number): number => {
    let sum = 0;
    for (let i = 0; i < labels.length; i++) sum += (sigmoid(a * logits[i]) - labels[i]) * logits[i];
    return sum / labels.length;
  };
  let lo = 1 / TEMPERATURE_RANGE[1];
  let hi = 1 / TEMPERATURE_RANGE[0];
  if (derivative(lo) >= 0) return 1 / lo;
  if (derivative(hi) <= 0) return 1 / hi;
  for (let iteration = 0; iteration < 60; iteration++) {
    const mid = (lo + hi) / 2;
    if (derivative(mid) < 0) lo = mid;
    else hi = mid;
  }
  return 2 / (lo + hi);
}
