/**
 * The worklist `cxr predict` writes: one row per input, in reading order (rank 1 first), as CSV or JSON.
 */
import path from 'node:path';
import type { PredictResult } from './types.ts';

export type OutputFormat = 'csv' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['csv', 'json'];

/** One worklist row. `probability`/`label` are empty for a failed input, `error` for a scored one. */
export interface WorklistRow {
  path: string;
  probability: number | null;
  label: string | null;
  rank: number;
  /** Path of the Grad-CAM overlay PNG, when heatmaps were written. */
  heatmap?: string | null;
  warnings?: string[];
  error?: { code: string; message: string } | null;
}

/** Decimal places kept for probabilities: enough to separate ranks, few enough to read. */
const PROBABILITY_DIGITS = 6;

export function toRows(results: PredictResult[], heatmapPaths?: Map<string, string>): WorklistRow[] {
  return results.map((r) => {
    const row: WorklistRow = {
      path: r.name,
      probability: r.probability === undefined ? null : Number(r.probability.toFixed(PROBABILITY_DIGITS)),
      label: r.label ?? null,
      rank: r.rank,
    };
    if (heatmapPaths) row.heatmap = heatmapPaths.get(r.name) ?? null;
    if (r.warnings && r.warnings.length > 0) row.warnings = r.warnings;
    row.error = r.error ?? null;
    return row;
  });
}

/** Quotes a CSV field when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** CSV with a header row; columns: path, probability, label, rank[, heatmap], error. */
export function formatCsv(rows: WorklistRow[], options: { heatmaps: boolean }): string {
  const header = ['path', 'probability', 'label', 'rank', ...(options.heatmaps ? ['heatmap'] : []), 'error'];
  const lines = [header.join(',')];
  for (const row of rows) {
    const fields = [
      row.path,
      row.probability === null ? '' : row.probability.toFixed(PROBABILITY_DIGITS),
      row.label ?? '',
      String(row.rank),
      ...(options.heatmaps ? [row.heatmap ?? ''] : []),
      row.error ? `${row.error.code}: ${row.error.message}` : '',
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function formatJson(rows: WorklistRow[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/**
 * Picks a file name for an input's heatmap inside `dir`: the input's base name plus `.gradcam.png`, numbered
 * when two inputs share a base name. `taken` remembers names already used in this run.
 */
export function heatmapFileName(inputName: string, dir: string, taken: Set<string>): string {
  const base = path.basename(inputName).replace(/\.(jpe?g|png|dcm|dicom|dic)$/i, '') || 'image';
  const safe = base.replace(/[^\w.-]+/g, '_');
  let candidate = `${safe}.gradcam.png`;
  for (let n = 2; taken.has(candidate); n++) candidate = `${safe}-${n}.gradcam.png`;
  taken.add(candidate);
  return path.join(dir, candidate);
}
