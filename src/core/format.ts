/**
 * How probabilities and rates are written for people, in the app and in every report, so the two never
 * disagree. A calibrated probability is never "100%" or "0%": a model that says 0.99997 is not certain, and a
 * reader who sees "100.0%" takes it as certainty. The ends read ">99%" and "<1%" instead.
 *
 * Browser-safe (the web app imports it).
 */

/** 0.8312 → "83.1%"; above 99% → ">99%"; below 1% → "<1%". Not a number → "—". */
export function formatProbability(p: number, digits = 1): string {
  if (typeof p !== 'number' || !Number.isFinite(p)) return '—';
  if (p > 0.99) return '>99%';
  if (p < 0.01) return '<1%';
  return `${(p * 100).toFixed(digits)}%`;
}

/**
 * A rate measured on data (sensitivity 0.951 → "95.1%"). Unlike a probability, a measured rate of 1 is exact
 * (every one of the images), so it may read "100%"; it only drops needless decimals.
 */
export function formatRate(r: number, digits = 1): string {
  if (typeof r !== 'number' || !Number.isFinite(r)) return '—';
  if (r === 1) return '100%';
  if (r === 0) return '0%';
  return `${(r * 100).toFixed(digits)}%`;
}

/** The decision at the model's threshold as people read it: "Flagged" or "Not flagged". */
export function flagText(flagged: boolean): 'Flagged' | 'Not flagged' {
  return flagged ? 'Flagged' : 'Not flagged';
}

/** Whether a calibrated probability is at or above the model's operating threshold. */
export function isFlagged(probability: number, threshold: number): boolean {
  return probability >= threshold;
}

/**
 * The operating threshold in one plain sentence: "Flagged at ≥ 65.9%. On validation images this caught 95% of
 * pneumonia." The second sentence appears only when the validation sensitivity is known.
 */
export function thresholdSentence(threshold: number, sensitivity?: number | null): string {
  const first = `Flagged at ≥ ${(threshold * 100).toFixed(1)}%.`;
  if (typeof sensitivity !== 'number' || !Number.isFinite(sensitivity)) return first;
  return `${first} On validation images this caught ${Math.round(sensitivity * 100)}% of pneumonia.`;
}
