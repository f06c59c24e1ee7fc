/**
 * The confusion matrix at a threshold and the rates derived from it. A sample is called positive (PNEUMONIA)
 * when its probability is >= the threshold.
 */
import { checkBinaryInput } from './errors.ts';

/** Counts at one threshold; positive = PNEUMONIA. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Rates from a confusion matrix. A rate whose denominator is zero is NaN (e.g. specificity with no negatives). */
export interface BinaryRates {
  accuracy: number;
  /** Recall of the positive class: tp / (tp + fn). */
  sensitivity: number;
  /** Recall of the negative class: tn / (tn + fp). */
  specificity: number;
  /** Positive predictive value: tp / (tp + fp). */
  precision: number;
  /** Negative predictive value: tn / (tn + fn). */
  npv: number;
  f1: number;
}

export function confusionAt(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold: number,
): Confusion {
  checkBinaryInput(labels, probabilities, 'confusion matrix');
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predicted = probabilities[i] >= threshold;
    if (labels[i] === 1) predicted ? c.tp++ : c.fn++;
    else predicted ? c.fp++ : c.tn++;
  }
  return c;
}

function ratio(num: number, den: number): number {
  return den === 0 ? Number.NaN : num / den;
}

export function ratesFrom(c: Confusion): BinaryRates {
  const precision = ratio(c.tp, c.tp + c.fp);
  const sensitivity = ratio(c.tp, c.tp + c.fn);
  return {
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    sensitivity,
    specificity: ratio(c.tn, c.tn + c.fp),
    precision,
    npv: ratio(c.tn, c.tn + c.fn),
    // 2tp / (2tp + fp + fn) equals the harmonic mean of precision and recall and stays defined when tp = 0.
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
  };
}
