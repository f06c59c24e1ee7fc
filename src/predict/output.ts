/**
 * The worklist `cxr predict` writes: one row per input, in reading order (rank 1 first), as CSV or JSON.
 */
import path from 'node:path';
import { PROBABILITY_DIGITS, type WorklistRow } from './csv.ts';
import type { PredictResult } from './types.ts';

export type OutputFormat = 'csv' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['csv', 'json'];

export { csvColumns, csvField, formatCsv, type WorklistRow } from './csv.ts';

/** Which threshold decided the labels and which model scored: every row carries both. */
export interface RowContext {
  threshold: number;
  /** "name version" */
  model: string;
}

export function toRows(
  results: PredictResult[],
  context: RowContext,
  heatmapPaths?: Map<string, string>,
): WorklistRow[] {
  return results.map((r) => {
    const scored = r.status === 'scored' && r.probability !== undefined;
    const row: WorklistRow = {
      path: r.name,
      status: r.status,
      probability: r.probability !== undefined ? Number(r.probability.toFixed(PROBABILITY_DIGITS)) : null,
      // A rejected row is never labelled or flagged, whatever its probability.
      label: scored ? (r.label ?? null) : null,
      flagged: scored ? r.probability! >= context.threshold : null,
      rank: r.rank,
      threshold: context.threshold,
      model: context.model,
      reason: r.reason ?? null,
    };
    if (heatmapPaths) row.heatmap = heatmapPaths.get(r.name) ?? null;
    if (r.warnings && r.warnings.length > 0) row.warnings = r.warnings;
    row.error = r.error ?? null;
    return row;
  });
}

/** The DICOM UIDs of an instance, as `cxr pacs` keys its rows. */
export interface InstanceUids {
  study: string;
  series: string;
  instance: string;
}

/** Adds the Study/Series/SOP Instance UID columns to rows whose path `uids` knows (PACS instances). */
export function withUids(rows: WorklistRow[], uids: Map<string, InstanceUids>): WorklistRow[] {
  return rows.map((row) => {
    const ref = uids.get(row.path);
    if (!ref) return row;
    const { path: key, ...rest } = row;
    return { path: key, study: ref.study, series: ref.series, instance: ref.instance, ...rest };
  });
}

export function formatJson(rows: WorklistRow[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/**
 * Picks a file name for an input's heatmap inside `dir`: the input's base name plus `.gradcam.png`, numbered
 * when two inputs share a base name. `taken` remembers names already used in this run.
 */
export function heatmapFileName(inputName: string, dir: string, taken: Set<string>): string {
  const base = path.basename(inputName).replace(/\.(jpe?g|png|webp|tiff?|dcm|dicom|dic)$/i, '') || 'image';
  const safe = base.replace(/[^\w.-]+/g, '_');
  let candidate = `${safe}.gradcam.png`;
  for (let n = 2; taken.has(candidate); n++) candidate = `${safe}-${n}.gradcam.png`;
  taken.add(candidate);
  return path.join(dir, candidate);
}
