/**
 * Allowed ranges of numeric settings, written once and read by both the code that validates a setting and the
 * command-line parser that reads it, so the two can never disagree about what is allowed.
 */

export interface NumberBounds {
  /** Whole numbers only. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** Whether `min` and `max` themselves are excluded (an open interval). */
  exclusive?: boolean;
}

/** Whether `value` is a finite number within `bounds`. */
export function withinBounds(value: number, bounds: NumberBounds): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (bounds.integer && !Number.isInteger(value)) return false;
  const { min, max, exclusive } = bounds;
  if (min !== undefined && (exclusive ? value <= min : value < min)) return false;
  if (max !== undefined && (exclusive ? value >= max : value > max)) return false;
  return true;
}

/** The bounds in words: "an integer >= 16", "a number in (0, 0.5)", "a number >= 0". */
export function describeBounds(bounds: NumberBounds): string {
  const kind = bounds.integer ? 'an integer' : 'a number';
  const { min, max, exclusive } = bounds;
  if (min !== undefined && max !== undefined) {
    return exclusive ? `${kind} in (${min}, ${max})` : `${kind} in [${min}, ${max}]`;
  }
  if (min !== undefined) return `${kind} ${exclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${kind} ${exclusive ? '<' : '<='} ${max}`;
  return kind;
}
