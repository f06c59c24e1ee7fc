/** The learning-rate schedule: a linear warm-up, then a cosine decay to a small fraction of the base rate. */

export interface LearningRateSchedule {
  /** Peak learning rate, reached at the end of the warm-up. */
  base: number;
  /** Optimiser steps of linear warm-up from base / warmupSteps (0 = none). */
  warmupSteps: number;
  /** Total optimiser steps of the run; the cosine ends here. */
  totalSteps: number;
  /** Learning rate at the end, as a fraction of `base`. */
  finalFactor: number;
}

/**
 * Learning rate for optimiser step `step` (0-based). Warm-up keeps the first steps of a freshly initialised
 * batch-norm network from overshooting; the cosine tail lets the weights settle, which makes the last epochs
 * the best ones more often than a constant rate does.
 */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
  const { base, warmupSteps, totalSteps, finalFactor } = schedule;
  if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return base * (finalFactor + (1 - finalFactor) * cosine);
}
