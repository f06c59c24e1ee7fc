/**
 * Choosing the operating threshold on validation data. Candidate thresholds sit midway between consecutive
 * distinct probabilities: any threshold in that gap gives the same validation counts, and the middle leaves the
 * most room on both sides for new data.
 */
import { checkBinaryInput, requireBothClasses } from './errors.ts';
import { cumulativeCounts } from './roc.ts';

/** `sensitivity`: highest specificity with sensitivity >= minSensitivity. `youden`: max sensitivity + specificity - 1. */
export type ThresholdRule = { kind: 'sensitivity'; minSensitivity: number } | { kind: 'youden' };

/** The rule name used on the command line (`--threshold-rule`). */
export type ThresholdRuleName = 'sens95' | 'youden';

export const THRESHOLD_RULES: Record<ThresholdRuleName, ThresholdRule> = {
  sens95: { kind: 'sensitivity', minSensitivity: 0.95 },
  youden: { kind: 'youden' },
};

/** Human-readable rule, stored in metadata.json's `thresholdRule`. */
export function describeThresholdRule(rule: ThresholdRule): string {
  return rule.kind === 'youden' ? 'youden' : `max-specificity@sensitivity>=${rule.minSensitivity}`;
}

export interface ChosenThreshold {
  threshold: number;
  /** Sensitivity and specificity at the threshold on the data it was chosen on. */
  sensitivity: number;
  specificity: number;
  rule: string;
}

/**
 * Looks up a rule by its command-line name: `sens95`, `youden`, or `sens=X` (highest specificity with
 * sensitivity ≥ X, 0 < X ≤ 1, e.g. `sens=0.97`). An unknown name fails with the list of known ones.
 */
export function thresholdRuleByName(name: string): ThresholdRule {
  const rule = THRESHOLD_RULES[name as ThresholdRuleName];
  if (rule) return rule;
  const target = /^sens=(\d*\.?\d+)$/.exec(name);
  if (target) {
    const minSensitivity = Number(target[1]);
    if (minSensitivity > 0 && minSensitivity <= 1) return { kind: 'sensitivity', minSensitivity };
    throw new Error(`threshold rule "${name}": the sensitivity target must be in (0, 1], e.g. sens=0.97`);
  }
  throw new Error(
    `unknown threshold rule "${name}"; known: ${Object.keys(THRESHOLD_RULES).join(', ')}, sens=X (e.g. sens=0.97)`,
  );
}

/** Picks the threshold on (validation) probabilities by `rule`. Throws UndefinedMetricError without both classes. */
export function chooseThreshold(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  rule: ThresholdRule,
): ChosenThreshold {
  checkBinaryInput(labels, probabilities, 'threshold selection');
  const { pos, neg } = requireBothClasses(labels, 'threshold selection');
  // Entry k: calling every sample with p >= scores[k] positive. Distinct scores descend.
  const { tp, fp, thresholds: scores } = cumulativeCounts(labels, probabilities);
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < scores.length; k++) {
    const sensitivity = tp[k] / pos;
    const specificity = (neg - fp[k]) / neg;
    let value: number;
    if (rule.kind === 'youden') value = sensitivity + specificity - 1;
    else value = sensitivity >= rule.minSensitivity ? specificity : Number.NEGATIVE_INFINITY;
    // Strict '>' keeps the highest threshold among equals (the first in descending order).
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  const upper = scores[best];
  const below = best + 1 < scores.length ? scores[best + 1] : 0;
  const threshold = best + 1 < scores.length ? (upper + below) / 2 : upper / 2;
  return {
    threshold,
    sensitivity: tp[best] / pos,
    specificity: (neg - fp[best]) / neg,
    rule: describeThresholdRule(rule),
  };
}
