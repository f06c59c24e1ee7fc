/**
 * A per-class report in the style of scikit-learn's `classification_report`: precision, recall, F1 and support
 * for each class, then the accuracy and the macro and support-weighted averages. Each class is taken in turn as
 * the positive one, so NORMAL's precision is the NPV and its recall the specificity.
 */
import type { Confusion } from './confusion.ts';

export interface ClassRow {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Images whose true class this is (for the averages: all images). */
  support: number;
}

export interface PerClassReport {
  classes: ClassRow[];
  accuracy: number;
  macro: ClassRow;
  weighted: ClassRow;
}

function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

function f1(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function row(name: string, tp: number, fp: number, fn: number): ClassRow {
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return { name, precision, recall, f1: f1(precision, recall), support: tp + fn };
}

/** The report for a binary confusion matrix; `classNames` is [negative, positive]. */
export function perClassReport(c: Confusion, classNames: readonly [string, string]): PerClassReport {
  const classes = [row(classNames[0], c.tn, c.fn, c.fp), row(classNames[1], c.tp, c.fp, c.fn)];
  const total = c.tp + c.fp + c.tn + c.fn;
  const average = (name: string, weight: (r: ClassRow) => number): ClassRow => {
    const weights = classes.map(weight);
    const sum = weights.reduce((a, b) => a + b, 0);
    const mean = (key: 'precision' | 'recall' | 'f1') =>
      ratio(
        classes.reduce((acc, r, i) => acc + r[key] * weights[i], 0),
        sum,
      );
    return { name, precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: total };
  };
  return {
    classes,
    accuracy: ratio(c.tp + c.tn, total),
    macro: average('macro avg', () => 1),
    weighted: average('weighted avg', (r) => r.support),
  };
}
