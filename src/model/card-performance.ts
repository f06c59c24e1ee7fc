/**
 * The model card's "Performance" section: every measurement the model carries (random-split validation, the
 * shift suite, external evaluations, site calibration), each with its number of images and 95% intervals, and
 * the plain warning that another hospital's images will do worse and must be checked there.
 */
import { formatInterval } from '../metrics/intervals.ts';
import type { EvaluationMetrics } from '../metrics/summary.ts';
import { modelEvaluations } from './evaluations.ts';
import { describeCalibration, type EvaluationRecord, type ModelMetadata } from './metadata.ts';

/** The sentence the card and the app's model page both show above the figures. */
export const LOCAL_CHECK_WARNING =
  "Performance on another hospital's images is lower than on the images measured here, and must be checked " +
  'locally before use: label a few hundred of your own images, measure the model on them with ' +
  '`cxr evaluate --model DIR --data YOUR_IMAGES --attach`, then fit its probabilities and threshold to them with ' +
  '`cxr calibrate --model DIR --data YOUR_IMAGES --out NEW_DIR` (see docs/calibration.md).';

const KIND_TITLES: Record<EvaluationRecord['kind'], string> = {
  validation: 'Validation',
  shift: 'Shift validation',
  external: 'External',
  'site-calibration': 'Site calibration',
};

function num(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** "0.951 (0.925–0.968)"; the interval is left out where it is undefined, never shown as zero-width. */
function withInterval(value: unknown, interval: readonly [unknown, unknown] | undefined): string {
  const ci = formatInterval(interval, { missing: '' });
  return ci ? `${num(value)} (${ci})` : num(value);
}

/** "522 (134 NORMAL, 388 PNEUMONIA)" from the data fingerprint, or from the confusion counts. */
function imagesText(record: EvaluationRecord): string {
  const counts = record.data?.classCounts;
  const c = (record.metrics as Partial<EvaluationMetrics>).confusion;
  const normal = counts?.NORMAL ?? (c ? c.tn + c.fp : undefined);
  const pneumonia = counts?.PNEUMONIA ?? (c ? c.tp + c.fn : undefined);
  const split =
    normal !== undefined && pneumonia !== undefined ? ` (${normal} NORMAL, ${pneumonia} PNEUMONIA)` : '';
  return `${record.n}${split}`;
}

function dateOf(iso: string): string {
  return iso.slice(0, 10);
}

function summaryRows(records: EvaluationRecord[]): string[] {
  const rows: string[] = [];
  for (const r of records) {
    const m = r.metrics;
    rows.push(
      `| ${KIND_TITLES[r.kind]}: ${r.name} | ${imagesText(r)} | ${withInterval(m.sensitivity, m.ci95?.sensitivity)} | ` +
        `${withInterval(m.specificity, m.ci95?.specificity)} | ${withInterval(m.rocAuc, m.ci95?.rocAuc)} | ${num(m.ece)} |`,
    );
    for (const [name, s] of Object.entries(r.perShift ?? {})) {
      rows.push(
        `| ↳ ${name}${s.description ? ` (${s.description})` : ''} | ${s.n} | ${withInterval(s.sensitivity, s.ci95?.sensitivity)} | ` +
          `${withInterval(s.specificity, s.ci95?.specificity)} | ${withInterval(s.rocAuc, s.ci95?.rocAuc)} | ${num(s.ece)} |`,
      );
    }
  }
  return rows;
}

/** Every metric of one record at the stored threshold, with intervals. */
export function metricsTable(m: Partial<EvaluationMetrics>): string {
  const ci = m.ci95;
  const rows: [string, unknown, readonly [unknown, unknown] | undefined][] = [
    ['Accuracy', m.accuracy, ci?.accuracy],
    ['Sensitivity (recall of PNEUMONIA)', m.sensitivity, ci?.sensitivity],
    ['Specificity (recall of NORMAL)', m.specificity, ci?.specificity],
    ['Precision (PPV)', m.precision, ci?.precision],
    ['NPV', m.npv, ci?.npv],
    ['ROC-AUC', m.rocAuc, ci?.rocAuc],
    ['PR-AUC (average precision)', m.prAuc, undefined],
    ['Expected calibration error (10 bins)', m.ece, undefined],
  ];
  return [
    '| Metric | Value | 95% CI |',
    '|---|---|---|',
    ...rows.map(([name, value, c]) => `| ${name} | ${num(value)} | ${formatInterval(c)} |`),
  ].join('\n');
}

function recordNotes(r: EvaluationRecord): string {
  const lines = [
    `- Measured ${dateOf(r.createdAt)} on ${imagesText(r)} images at threshold ${num(r.metrics.threshold, 4)}.`,
  ];
  if (r.data?.sha256) lines.push(`- Data: file-list sha256 \`${r.data.sha256}\`.`);
  if (r.command) lines.push(`- Command: \`${r.command}\``);
  if (r.note) lines.push(`- ${r.note}`);
  return lines.join('\n');
}

function validationText(r: EvaluationRecord): string {
  return `### ${KIND_TITLES.validation}: ${r.name}

Patients held out from the training data (the training section says how they were chosen). The threshold and the
calibration were fitted on these same images, so sensitivity and specificity here are optimistic, and images from
the training hospital are easier than anyone else's.

${recordNotes(r)}

${metricsTable(r.metrics)}`;
}

function recalibrationText(md: ModelMetadata): string {
  const r = md.recalibration;
  if (!r) return '';
  const what = [
    r.method !== 'none' ? `the calibration to ${describeCalibration(md.calibration)}` : null,
    r.thresholdRule ? `the threshold to ${num(md.threshold, 4)} (rule ${r.thresholdRule})` : null,
    r.adaptBn ? 'the batch-norm statistics (AdaBN)' : null,
  ].filter(Boolean);
  const images = r.data
    ? ` (${r.data.classCounts.NORMAL} NORMAL, ${r.data.classCounts.PNEUMONIA} PNEUMONIA; file-list sha256 \`${r.data.sha256}\`)`
    : '';
  const lines = [
    `On ${dateOf(r.createdAt)}, \`cxr calibrate\` refitted ${what.join(', ')} on ${r.n} ${r.labelled ? 'labelled' : 'unlabelled'} local images${images}, starting from model ${r.from.name} ${r.from.version} (created ${dateOf(r.from.createdAt)}; ${describeCalibration(r.from.calibration)}, threshold ${num(r.from.threshold, 4)}, ${r.from.thresholdRule}). The parent model's measurements above were taken at its own threshold and calibration.`,
  ];
  const cv = r.crossValidated;
  if (cv) {
    lines.push(
      `**Expected on new images of this site** (${cv.folds}-fold cross-validation by patient on the ${cv.n} images: fitted on ${cv.folds - 1} folds, measured on the one left out): sensitivity ${withInterval(cv.sensitivity, cv.ci95.sensitivity)}, specificity ${withInterval(cv.specificity, cv.ci95.specificity)}, ECE ${num(cv.ece)}.`,
    );
  }
  if (r.note) lines.push(r.note);
  lines.push(`Command: \`${r.command}\``);
  return lines.join('\n\n');
}

/** The whole "Performance" section of the card. */
export function performanceSection(md: ModelMetadata): string {
  const records = modelEvaluations(md);
  const parts = ['## Performance', `**${LOCAL_CHECK_WARNING}**`];
  if (records.length === 0) {
    parts.push('No measurements are recorded with this model.');
  } else {
    parts.push(
      [
        'Every measurement recorded with this model, at its stored threshold; 95% intervals in brackets (Wilson score intervals for sensitivity and specificity, bootstrap for ROC-AUC).',
        '',
        '| Measured on | Images | Sensitivity | Specificity | ROC-AUC | ECE |',
        '|---|---|---|---|---|---|',
        ...summaryRows(records),
      ].join('\n'),
    );
  }
  const validation = records.find((r) => r.kind === 'validation');
  if (validation) parts.push(validationText(validation));
  const shift = records.find((r) => r.kind === 'shift');
  parts.push(
    shift
      ? `### ${KIND_TITLES.shift}\n\nThe validation images re-rendered as another system might show them (framing, contrast curves, sharpening, noise): a rough proxy for another hospital, not a substitute for one.\n\n${recordNotes(shift)}`
      : `### ${KIND_TITLES.shift}\n\nNot measured for this model.`,
  );
  const external = records.filter((r) => r.kind === 'external');
  parts.push(
    external.length > 0
      ? `### External evaluations\n\n${external.map((r) => `#### ${r.name}\n\n${recordNotes(r)}\n\n${metricsTable(r.metrics)}`).join('\n\n')}`
      : '### External evaluations\n\nNone attached yet (`cxr evaluate --attach` adds one).',
  );
  const site = records.filter((r) => r.kind === 'site-calibration');
  if (site.length > 0 || md.recalibration) {
    parts.push(
      [
        '### Site calibration',
        recalibrationText(md),
        ...site.map((r) => `#### ${r.name}\n\n${recordNotes(r)}\n\n${metricsTable(r.metrics)}`),
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
  }
  return parts.join('\n\n');
}
