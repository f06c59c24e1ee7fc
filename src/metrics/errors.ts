/**
 * Metric failures on inputs where a metric has no meaning. The pure metric functions throw these; callers that
 * can legitimately meet such inputs (a bootstrap resample, a one-class evaluation folder) catch them and report
 * the metric as undefined (NaN in memory, null in JSON) with a warning, never as a made-up number.
 */
export class UndefinedMetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndefinedMetricError';
  }
}

/** Binary labels and scores of equal, non-zero length; labels must be 0 or 1. */
export function checkBinaryInput(labels: ArrayLike<number>, scores: ArrayLike<number>, what: string): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`${what}: ${labels.length} labels but ${scores.length} scores`);
  }
  if (labels.length === 0) throw new UndefinedMetricError(`${what}: no samples`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${what}: label ${i} is ${y}, expected 0 or 1`);
    if (!Number.isFinite(scores[i])) throw new RangeError(`${what}: score ${i} is ${scores[i]}`);
  }
}

/** Counts of positive (1) and negative (0) labels; throws when either class is absent. */
export function requireBothClasses(labels: ArrayLike<number>, what: string): { pos: number; neg: number } {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i];
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) {
    throw new UndefinedMetricError(
      `${what} needs both classes, but the labels have ${pos} positive and ${neg} negative samples`,
    );
  }
  return { pos, neg };
}

/** Calls `fn`; an UndefinedMetricError becomes NaN (other errors propagate). */
export function orNaN(fn: () => number): number {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UndefinedMetricError) return Number.NaN;
    throw err;
  }
}
