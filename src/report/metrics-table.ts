/**
 * The metrics table of the HTML reports (training and evaluation): each metric at one threshold with its 95%
 * interval (Wilson for rates, bootstrap or score for ROC-AUC), written so no interval reads as zero-width.
 */
import { formatInterval } from '../metrics/intervals.ts';
import type { ThresholdMetrics } from '../metrics/summary.ts';
import type { ReportSection } from './html.ts';

function fmt(x: number | null | undefined, digits: number): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

export interface MetricsTableOptions {
  /** Decimals of each value (default 3). */
  digits?: number;
  /** Include the metrics that do not depend on the threshold (AUCs, log-loss, Brier, ECE); default true. */
  thresholdFree?: boolean;
}

/** A table block: metric, value, 95% interval. */
export function metricsTableBlock(
  m: ThresholdMetrics,
  options: MetricsTableOptions = {},
): ReportSection['blocks'][number] {
  const digits = options.digits ?? 3;
  const ci = (key: keyof ThresholdMetrics['ci95']) => formatInterval(m.ci95?.[key], { missing: '' });
  const rows: [string, string, string][] = [
    ['accuracy', fmt(m.accuracy, digits), ci('accuracy')],
    ['sensitivity', fmt(m.sensitivity, digits), ci('sensitivity')],
    ['specificity', fmt(m.specificity, digits), ci('specificity')],
    ['precision', fmt(m.precision, digits), ci('precision')],
    ['NPV', fmt(m.npv, digits), ci('npv')],
    ['F1', fmt(m.f1, digits), ''],
  ];
  if (options.thresholdFree !== false) {
    rows.push(
      ['ROC-AUC', fmt(m.rocAuc, digits), ci('rocAuc')],
      ['PR-AUC', fmt(m.prAuc, digits), ''],
      ['log-loss', fmt(m.logLoss, digits), ''],
      ['Brier', fmt(m.brier, digits), ''],
      ['ECE', fmt(m.ece, digits), ''],
    );
  }
  return { kind: 'table', columns: ['metric', 'value', '95% CI'], rows, caption: intervalCaption(m) };
}

/** One sentence on how the intervals were computed. */
export function intervalCaption(m: Pick<ThresholdMetrics, 'ciMethod'>): string {
  const auc =
    m.ciMethod?.rocAuc === 'hanley-mcneil-score'
      ? 'a score interval on the Hanley–McNeil variance (the bootstrap collapsed or was skipped)'
      : 'a stratified bootstrap';
  return `95% intervals: Wilson score intervals for rates, ${auc} for ROC-AUC.`;
}
