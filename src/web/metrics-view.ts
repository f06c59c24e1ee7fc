/**
 * Metrics as a reader-friendly table. Knows the metrics block written by src/evaluate (rates with 95%
 * intervals, a confusion matrix); anything else is shown as a plain key/value list.
 */
import { formatInterval } from '../metrics/intervals.ts';
import { h } from './dom.ts';
import { formatRate, metricValue } from './format.ts';

interface MetricRow {
  key: string;
  label: string;
  /** Rates read best as percentages; scores (AUC, log loss) as decimals. */
  kind: 'rate' | 'score';
  hint?: string;
}

const KNOWN_METRICS: MetricRow[] = [
  { key: 'sensitivity', label: 'Sensitivity', kind: 'rate', hint: 'pneumonia images flagged' },
  { key: 'specificity', label: 'Specificity', kind: 'rate', hint: 'normal images not flagged' },
  { key: 'precision', label: 'Precision (PPV)', kind: 'rate', hint: 'flagged images that were pneumonia' },
  { key: 'npv', label: 'NPV', kind: 'rate', hint: 'unflagged images that were normal' },
  { key: 'accuracy', label: 'Accuracy', kind: 'rate' },
  { key: 'f1', label: 'F1', kind: 'score' },
  { key: 'rocAuc', label: 'ROC AUC', kind: 'score', hint: 'threshold-free ranking quality' },
  { key: 'prAuc', label: 'PR AUC', kind: 'score' },
  { key: 'logLoss', label: 'Log loss', kind: 'score', hint: 'lower is better' },
  { key: 'brier', label: 'Brier score', kind: 'score', hint: 'lower is better' },
  { key: 'ece', label: 'Calibration error (ECE)', kind: 'score', hint: 'lower is better' },
];

function show(value: unknown, kind: MetricRow['kind']): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return kind === 'rate' ? formatRate(value) : value.toFixed(3);
}

/** The 95% interval; one that is undefined or of zero width is left blank, never shown as "100.0% – 100.0%". */
function interval(value: unknown, kind: MetricRow['kind']): string {
  if (!Array.isArray(value) || value.length !== 2) return '';
  const percent = kind === 'rate';
  return formatInterval(value as [unknown, unknown], { percent, digits: percent ? 1 : 3, missing: '' });
}

/** How the intervals were computed, from the block's `ciMethod` (older blocks: bootstrap throughout). */
function intervalSentence(metrics: Record<string, unknown>): string {
  const method = metrics.ciMethod as { proportions?: string; rocAuc?: string } | undefined;
  if (method?.proportions !== 'wilson') return 'Intervals are 95% bootstrap intervals.';
  const auc = method.rocAuc === 'hanley-mcneil-score' ? 'a score interval' : 'a bootstrap';
  return `Intervals are 95%: Wilson score intervals for rates, ${auc} for ROC AUC.`;
}

/** Flattens nested metric objects to dotted keys, skipping long arrays (curves) that a table cannot show. */
export function flattenMetrics(
  metrics: Record<string, unknown>,
  prefix = '',
  depth = 0,
): [string, unknown][] {
  const rows: [string, unknown][] = [];
  for (const [key, value] of Object.entries(metrics)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) {
      if (value.length <= 4 && value.every((v) => typeof v !== 'object')) {
        rows.push([name, value.map(metricValue).join(', ')]);
      }
    } else if (value !== null && typeof value === 'object') {
      if (depth < 2) rows.push(...flattenMetrics(value as Record<string, unknown>, name, depth + 1));
    } else {
      rows.push([name, value]);
    }
  }
  return rows;
}

function knownTable(metrics: Record<string, unknown>): HTMLElement {
  const ci = (metrics.ci95 ?? {}) as Record<string, unknown>;
  const rows = KNOWN_METRICS.filter((row) => row.key in metrics);
  return h(
    'table',
    { class: 'metrics' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Metric'),
        h('th', { scope: 'col' }, 'At the threshold'),
        h('th', { scope: 'col' }, '95% interval'),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((row) =>
        h(
          'tr',
          {},
          h(
            'th',
            { scope: 'row' },
            row.label,
            row.hint ? h('span', { class: 'metric-hint' }, row.hint) : null,
          ),
          h('td', {}, show(metrics[row.key], row.kind)),
          h('td', { class: 'muted' }, interval(ci[row.key], row.kind)),
        ),
      ),
    ),
  );
}

function confusionTable(confusion: Record<string, unknown>): HTMLElement {
  const cell = (key: string) => h('td', {}, metricValue(confusion[key]));
  return h(
    'table',
    { class: 'metrics confusion', 'aria-label': 'Confusion matrix on the validation split' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('td', {}),
        h('th', { scope: 'col' }, 'Flagged'),
        h('th', { scope: 'col' }, 'Not flagged'),
      ),
    ),
    h(
      'tbody',
      {},
      h('tr', {}, h('th', { scope: 'row' }, 'Pneumonia images'), cell('tp'), cell('fn')),
      h('tr', {}, h('th', { scope: 'row' }, 'Normal images'), cell('fp'), cell('tn')),
    ),
  );
}

function genericTable(metrics: Record<string, unknown>): HTMLElement {
  return h(
    'table',
    { class: 'metrics' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col' }, 'Value'))),
    h(
      'tbody',
      {},
      flattenMetrics(metrics).map(([key, value]) =>
        h('tr', {}, h('th', { scope: 'row', class: 'metric-key' }, key), h('td', {}, metricValue(value))),
      ),
    ),
  );
}

/**
 * One metrics block: known metrics with intervals and the confusion matrix, or a plain list. `context` says what
 * the images were (default: the validation split carved from the training data).
 */
export function renderMetrics(
  metrics: Record<string, unknown> | undefined,
  options: { context?: string } = {},
): HTMLElement {
  if (!metrics || Object.keys(metrics).length === 0) {
    return h('p', { class: 'muted' }, 'This model carries no validation metrics.');
  }
  const known = KNOWN_METRICS.some(
    (row) => typeof metrics[row.key] === 'number' || metrics[row.key] === null,
  );
  if (!known) return h('div', { class: 'table-scroll' }, genericTable(metrics));
  const confusion = metrics.confusion as Record<string, unknown> | undefined;
  const n = typeof metrics.n === 'number' ? `${metrics.n} images. ` : '';
  const context =
    options.context ??
    'Measured on a validation split carved from the training data: expect lower numbers on new patients and other hospitals.';
  return h(
    'div',
    { class: 'metrics-view' },
    h(
      'p',
      { class: 'muted' },
      `${n}Rates are measured at the operating threshold. ${intervalSentence(metrics)} ${context}`,
    ),
    h(
      'div',
      { class: 'metrics-grid' },
      h('div', { class: 'table-scroll' }, knownTable(metrics)),
      confusion && typeof confusion === 'object'
        ? h('div', {}, h('h3', {}, 'Confusion matrix'), confusionTable(confusion))
        : null,
    ),
  );
}
