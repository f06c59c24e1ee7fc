/**
 * The worklist's row and its CSV, browser-safe: `cxr predict` writes it, and the web app exports the same
 * columns from its own worklist (src/web), so a spreadsheet built on one reads the other.
 */
import { flagText } from '../core/format.ts';

/**
 * One worklist row. `label` and `flagged` are null unless the row is `scored` (a rejected row is never labelled);
 * `probability` is null for failed rows (a rejected row may show it, for transparency); `reason` says why a
 * rejected or failed row needs a person.
 */
export interface WorklistRow {
  /** The input's path, or for a PACS instance its DICOMweb path (`studies/…/series/…/instances/…`). */
  path: string;
  /** scored | rejected (the input gate refused it) | failed (it could not be read). */
  status: 'scored' | 'rejected' | 'failed';
  /** Study, Series and SOP Instance UIDs of a PACS instance (`cxr pacs`): its key, never a patient name. */
  study?: string;
  series?: string;
  instance?: string;
  probability: number | null;
  /** The class at the threshold, for machines; people read `flagged`. */
  label: string | null;
  /** Probability ≥ threshold: the row is flagged for an early read. Null when it was not scored. */
  flagged: boolean | null;
  rank: number;
  /** The operating threshold the label and flag were decided at. */
  threshold: number;
  /** Which model scored it: "name version". */
  model: string;
  /** Path of the Grad-CAM overlay PNG, when heatmaps were written. */
  heatmap?: string | null;
  /** Why a rejected or failed row needs a person; null for scored rows. */
  reason: string | null;
  warnings?: string[];
  error?: { code: string; message: string } | null;
}

/** Decimal places kept for probabilities: enough to separate ranks, few enough to read. */
export const PROBABILITY_DIGITS = 6;

/** Quotes a CSV field when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** What the CSV holds besides the fixed columns. */
export interface CsvOptions {
  heatmaps: boolean;
  /** Study, series and instance UID columns after `path` (`cxr pacs`). */
  uids?: boolean;
}

/** The CSV header, in order. */
export function csvColumns(options: CsvOptions): string[] {
  return [
    'path',
    ...(options.uids ? ['study', 'series', 'instance'] : []),
    'status',
    'probability',
    'label',
    'flag',
    'rank',
    'threshold',
    'model',
    ...(options.heatmaps ? ['heatmap'] : []),
    'reason',
    'error',
  ];
}

/** CSV with a header row (see `csvColumns`); `flag` reads "Flagged" / "Not flagged", empty when not scored. */
export function formatCsv(rows: WorklistRow[], options: CsvOptions): string {
  const lines = [csvColumns(options).join(',')];
  for (const row of rows) {
    const fields = [
      row.path,
      ...(options.uids ? [row.study ?? '', row.series ?? '', row.instance ?? ''] : []),
      row.status,
      row.probability === null ? '' : row.probability.toFixed(PROBABILITY_DIGITS),
      row.label ?? '',
      row.flagged === null ? '' : flagText(row.flagged),
      String(row.rank),
      String(row.threshold),
      row.model,
      ...(options.heatmaps ? [row.heatmap ?? ''] : []),
      row.reason ?? '',
      row.error ? `${row.error.code}: ${row.error.message}` : '',
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
