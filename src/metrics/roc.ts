/**
 * ROC analysis. The AUC is computed as the Mann-Whitney statistic with mid-ranks, which is exactly the area under
 * the ROC curve with ties handled as diagonal segments (a tied positive/negative pair counts one half).
 */
import { checkBinaryInput, requireBothClasses } from './errors.ts';

/** ROC points from the strictest threshold to the loosest; `thresholds[0]` is +Infinity (nothing positive). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

/** Indices of `scores` sorted by descending score. */
export function descendingOrder(scores: ArrayLike<number>): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b] - scores[a]);
}

/**
 * Counts of true and false positives at each distinct score, walking from the highest score down. Entry k
 * holds the counts when every sample with score >= thresholds[k] is called positive.
 */
export function cumulativeCounts(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { tp: number[]; fp: number[]; thresholds: number[] } {
  const order = descendingOrder(scores);
  const tp: number[] = [];
  const fp: number[] = [];
  const thresholds: number[] = [];
  let t = 0;
  let f = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (labels[i] === 1) t++;
    else f++;
    const last = k === order.length - 1 || scores[order[k + 1]] !== scores[i];
    if (last) {
      tp.push(t);
      fp.push(f);
      thresholds.push(scores[i]);
    }
  }
  return { tp, fp, thresholds };
}

/** Area under the ROC curve. Throws UndefinedMetricError when a class is missing. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkBinaryInput(labels, scores, 'ROC-AUC');
  const { pos, neg } = requireBothClasses(labels, 'ROC-AUC');
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b]);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[start]]) end++;
    const midRank = (start + end) / 2 + 1; // ranks are 1-based
    for (let k = start; k <= end; k++) if (labels[order[k]] === 1) positiveRankSum += midRank;
    start = end + 1;
  }
  return (positiveRankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** The ROC curve on the distinct scores. Throws UndefinedMetricError when a class is missing. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  checkBinaryInput(labels, scores, 'ROC curve');
  const { pos, neg } = requireBothClasses(labels, 'ROC curve');
  const counts = cumulativeCounts(labels, scores);
  return {
    fpr: [0, ...counts.fp.map((f) => f / neg)],
    tpr: [0, ...counts.tp.map((t) => t / pos)],
    thresholds: [Number.POSITIVE_INFINITY, ...counts.thresholds],
  };
}
