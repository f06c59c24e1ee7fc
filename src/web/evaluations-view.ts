/**
 * The model page's performance section: the plain warning that another hospital's images do worse, one table of
 * every measurement the model carries (random-split validation, each shift of the shift suite, external
 * evaluations, site calibration) with n and 95% intervals, and each record's full metrics on demand.
 */
import { formatInterval } from '../metrics/intervals.ts';
import type { Evaluation, ModelInfo } from './api.ts';
import { h } from './dom.ts';
import { formatRate } from './format.ts';
import { renderInline } from './markdown.ts';
import { renderMetrics } from './metrics-view.ts';

const KIND_TITLES: Record<Evaluation['kind'], string> = {
  validation: 'Validation',
  shift: 'Shift validation',
  external: 'External',
  'site-calibration': 'Site calibration',
};

const KIND_CONTEXT: Record<Evaluation['kind'], string> = {
  validation:
    'Patients held out from the training hospital; the threshold and calibration were fitted on them, so these figures are optimistic.',
  shift:
    'The validation images re-rendered as another X-ray system might show them (framing, contrast, sharpening, noise), pooled; a rough proxy for another hospital.',
  external: 'A labelled dataset measured with cxr evaluate --attach.',
  'site-calibration':
    'The local images cxr calibrate fitted the calibration and threshold on; measured on the same images, so optimistic.',
};

/** [lower, upper]; the API sends it as an array of two. */
type Interval = readonly unknown[] | undefined;

function rate(value: unknown): string {
  return typeof value === 'number' ? formatRate(value) : '—';
}

function score(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(3) : '—';
}

/** A value with its interval underneath; an undefined or zero-width interval is never shown. */
function cell(value: string, interval: Interval, percent: boolean): HTMLElement {
  const ci = formatInterval(interval, { percent, digits: percent ? 1 : 3, missing: '' });
  return h('td', {}, value, ci ? h('span', { class: 'metric-hint' }, ci) : null);
}

function imagesText(record: Evaluation): string {
  const counts = record.data?.classCounts;
  const c = record.metrics.confusion as Record<string, number> | undefined;
  const normal = counts?.NORMAL ?? (c ? c.tn + c.fp : undefined);
  const pneumonia = counts?.PNEUMONIA ?? (c ? c.tp + c.fn : undefined);
  return normal !== undefined && pneumonia !== undefined
    ? `${record.n} (${normal} normal, ${pneumonia} pneumonia)`
    : String(record.n);
}

interface Row {
  label: string;
  images: string;
  sensitivity: unknown;
  specificity: unknown;
  rocAuc: unknown;
  ece: unknown;
  ci95: Record<string, Interval>;
  sub?: boolean;
}

function rowsOf(records: Evaluation[]): Row[] {
  return records.flatMap((r) => {
    const m = r.metrics;
    const ci95 = (m.ci95 ?? {}) as Record<string, Interval>;
    const main: Row = {
      label: `${KIND_TITLES[r.kind]}: ${r.name}`,
      images: imagesText(r),
      sensitivity: m.sensitivity,
      specificity: m.specificity,
      rocAuc: m.rocAuc,
      ece: m.ece,
      ci95,
    };
    const shifts: Row[] = Object.entries(r.perShift ?? {}).map(([name, s]) => ({
      label: s.description ? `${name}: ${s.description}` : name,
      images: String(s.n),
      sensitivity: s.sensitivity,
      specificity: s.specificity,
      rocAuc: s.rocAuc,
      ece: s.ece,
      ci95: s.ci95,
      sub: true,
    }));
    return [main, ...shifts];
  });
}

function summaryTable(records: Evaluation[]): HTMLElement {
  const header = ['Measured on', 'Images', 'Sensitivity', 'Specificity', 'ROC AUC', 'ECE'];
  return h(
    'table',
    { class: 'metrics evaluations' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        header.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      rowsOf(records).map((row) =>
        h(
          'tr',
          { class: row.sub ? 'sub-row' : null },
          h('th', { scope: 'row' }, row.sub ? `↳ ${row.label}` : row.label),
          h('td', {}, row.images),
          cell(rate(row.sensitivity), row.ci95.sensitivity, true),
          cell(rate(row.specificity), row.ci95.specificity, true),
          cell(score(row.rocAuc), row.ci95.rocAuc, false),
          h('td', {}, score(row.ece)),
        ),
      ),
    ),
  );
}

function recordDetails(record: Evaluation, open: boolean): HTMLElement {
  const facts = [
    `Measured ${record.createdAt.slice(0, 10)} on ${imagesText(record)} images.`,
    record.command ? `Command: ${record.command}` : null,
    record.data?.sha256 ? `File-list sha256: ${record.data.sha256}` : null,
    record.note ?? null,
  ].filter((x): x is string => x !== null);
  return h(
    'details',
    { class: 'evaluation', open },
    h('summary', {}, `${KIND_TITLES[record.kind]}: ${record.name}`),
    facts.map((text) => h('p', { class: 'muted' }, text)),
    renderMetrics(record.metrics, { context: KIND_CONTEXT[record.kind] }),
  );
}

interface RecalibrationView {
  n?: number;
  createdAt?: string;
  from?: { name?: string };
  crossValidated?: {
    folds: number;
    sensitivity: number;
    specificity: number;
    ece: number;
    ci95: { sensitivity: Interval; specificity: Interval };
  };
}

/** What `cxr calibrate` changed, and what it expects on the site's next images. */
function recalibrationNote(recalibration: Record<string, unknown> | undefined): HTMLElement | null {
  if (!recalibration) return null;
  const r = recalibration as RecalibrationView;
  const cv = r.crossValidated;
  const withCi = (value: number, ci: Interval) => {
    const text = formatInterval(ci, { percent: true, digits: 1, missing: '' });
    return text ? `${rate(value)} (${text})` : rate(value);
  };
  return h(
    'p',
    { class: 'recalibration' },
    `Site-calibrated from model ${r.from?.name ?? '?'} on ${r.n ?? '?'} local images (${(r.createdAt ?? '').slice(0, 10)}). `,
    cv
      ? `Expected on new images of that site (${cv.folds}-fold cross-validation by patient): sensitivity ${withCi(cv.sensitivity, cv.ci95.sensitivity)}, specificity ${withCi(cv.specificity, cv.ci95.specificity)}, ECE ${score(cv.ece)}.`
      : 'The calibration and threshold were not checked on labelled local images.',
  );
}

/** The performance section of the model page. */
export function renderEvaluations(
  model: Pick<ModelInfo, 'evaluations' | 'localCheckWarning' | 'recalibration'>,
): HTMLElement {
  const warning = h('p', { class: 'local-check' }, h('strong', {}, ...renderInline(model.localCheckWarning)));
  if (model.evaluations.length === 0) {
    return h('div', {}, warning, h('p', { class: 'muted' }, 'This model carries no measurements.'));
  }
  const hasShift = model.evaluations.some((r) => r.kind === 'shift');
  return h(
    'div',
    { class: 'evaluations-view' },
    warning,
    recalibrationNote(model.recalibration),
    h('div', { class: 'table-scroll' }, summaryTable(model.evaluations)),
    h(
      'p',
      { class: 'muted' },
      'Rates at the stored threshold; 95% intervals under each value (Wilson score intervals for rates, bootstrap for ROC AUC).',
      hasShift ? '' : ' Shift validation was not measured for this model.',
    ),
    model.evaluations.map((record, i) => recordDetails(record, i === 0)),
  );
}
