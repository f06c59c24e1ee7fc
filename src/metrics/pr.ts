/**
 * Precision-recall analysis. The PR-AUC reported is the average precision: the sum over distinct thresholds of
 * (recall gained) x (precision there). Unlike trapezoids between PR points it never interpolates optimistically.
 */
import { checkBinaryInput, requireBothClasses } from './errors.ts';
import { cumulativeCounts } from './roc.ts';

/** PR points from the strictest distinct threshold to the loosest. */
export interface PrCurve {
  precision: number[];
  recall: number[];
  thresholds: number[];
}

export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrCurve {
  checkBinaryInput(labels, scores, 'PR curve');
  const { pos } = requireBothClasses(labels, 'PR curve');
  const { tp, fp, thresholds } = cumulativeCounts(labels, scores);
  return {
    precision: tp.map((t, k) => t / (t + fp[k])),
    recall: tp.map((t) => t / pos),
    thresholds,
  };
}

/** Average precision (PR-AUC). Throws UndefinedMetricError when a class is missing. */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { precision, recall } = prCurve(labels, scores);
  let area = 0;
  let previousRecall = 0;
  for (let k = 0; k < recall.length; k++) {
    area += (recall[k] - previousRecall) * precision[k];
    previousRecall = recall[k];
  }
  return area;
}
