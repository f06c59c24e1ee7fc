/**
 * The worklist's row and its CSV, browser-safe: `cxr predict` writes it, and the web app exports the same
 * columns from its own worklist (src/web), so a spreadsheet built on one reads the other.
 */
import { flagText } from '../core/format.ts';

/** One worklist row. `probability`/`label`/`flagged` are null for a failed input, `error` for a scored one. */
export interface WorklistRow {
  path: string;
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
  warnings?: string[];
  error?: { code: string; message: string } | null;
}

/** Decimal places kept for probabilities: enough to separate ranks, few enough to read. */
export const PROBABILITY_DIGITS = 6;

/** Quotes a CSV field when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The CSV header, in order. */
export function csvColumns(options: { heatmaps: boolean }): string[] {
  return [
    'path',
    'probability',
    'label',
    'flag',
    'rank',
    'threshold',
    'model',
    ...(options.heatmaps ? ['heatmap'] : []),
    'error',
  ];
}

/** CSV with a header row (see `csvColumns`); `flag` reads "Flagged" / "Not flagged", empty when not scored. */
export function formatCsv(rows: WorklistRow[], options: { heatmaps: boolean }): string {
  const lines = [csvColumns(options).join(',')];
  for (const row of rows) {
    const fields = [
      row.path,
      row.probability === null ? '' : row.probability.toFixed(PROBABILITY_DIGITS),
      row.label ?? '',
      row.flagged === null ? '' : flagText(row.flagged),
      String(row.rank),
      String(row.threshold),
      row.model,
      ...(options.heatmaps ? [row.heatmap ?? ''] : []),
      row.error ? `${row.error.code}: ${row.error.message}` : '',
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
