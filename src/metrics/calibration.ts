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

/** Platt scaling parameters: p = sigmoid(a · logit + b). */
export interface PlattParameters {
  a: number;
  b: number;
}

/**
 * Fits Platt scaling p = sigmoid(a · z + b) to logits z by Newton's method with a backtracking line search
 * (Lin, Lin & Weng 2007). Targets are Platt's smoothed labels, (N₊ + 1)/(N₊ + 2) for positives and 1/(N₋ + 2)
 * for negatives, which keep the optimum finite on separable data and pull a small set a little towards 0.5.
 * Starts from the identity (a = 1, b = 0).
 */
export function fitPlatt(labels: ArrayLike<number>, logits: ArrayLike<number>): PlattParameters {
  checkBinaryInput(labels, logits, 'Platt scaling');
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i];
  const high = (positives + 1) / (positives + 2);
  const low = 1 / (n - positives + 2);
  const target = (i: number) => (labels[i] === 1 ? high : low);
  const objective = (a: number, b: number): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const z = a * logits[i] + b;
      const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
      sum += softplus - target(i) * z;
    }
    return sum;
  };
  let a = 1;
  let b = 0;
  let value = objective(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * logits[i] + b);
      const r = p - target(i);
      const w = p * (1 - p);
      ga += r * logits[i];
      gb += r;
      haa += w * logits[i] * logits[i];
      hab += w * logits[i];
      hbb += w;
    }
    if (Math.abs(ga) < 1e-9 * n && Math.abs(gb) < 1e-9 * n) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    let step = 1;
    let improved = false;
    while (step >= 1e-10) {
      const next = objective(a + step * da, b + step * db);
      if (next < value + 1e-4 * step * (ga * da + gb * db)) {
        a += step * da;
        b += step * db;
        value = next;
        improved = true;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  return { a, b };
}
