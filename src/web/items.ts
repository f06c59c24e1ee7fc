/**
 * The worklist's rows as the app holds them, and their order (the shared worklist contract): rows that need a
 * person first (rejected, then failed, in upload order), then scored rows by probability (highest first), then
 * rows still being scored. The CSV export uses the CLI's columns (src/predict/csv.ts).
 */
import { formatCsv, type WorklistRow } from '../predict/csv.ts';
import type { GradCamMap } from './api.ts';

/** What scoring one file gave, on the server or on this device. */
export interface Outcome {
  status: 'scored' | 'rejected' | 'failed';
  /** Calibrated P(PNEUMONIA): scored rows, and rejected ones when the scorer computed one. */
  probability?: number;
  /** Probability ≥ threshold (scored rows only). */
  flagged?: boolean;
  /** The class at the threshold, for machines (scored rows only). */
  label?: 'NORMAL' | 'PNEUMONIA' | null;
  /** Rejected: why the input gate refused the image, in plain words. */
  reason?: string;
  /** Failed: what went wrong. */
  error?: { code: string; message: string };
  warnings?: string[];
  threshold: number;
  model: { name: string; version: string };
  /** A small picture of the image for the row (data: URL). */
  thumbnail?: string;
}

export type ItemState = 'waiting' | 'scoring' | 'done';

export interface WorkItem {
  id: number;
  file: File;
  state: ItemState;
  /** Where it was scored. */
  where: 'server' | 'device';
  outcome?: Outcome;
  /** The Grad-CAM map: undefined until asked for, null when it could not be computed. */
  cam?: GradCamMap | null;
  camError?: string;
}

/** Same name, size and modification time: the same file uploaded again. */
export function fileKey(file: File): string {
  return `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
}

/** 0: needs a person (rejected), 1: needs a person (failed), 2: scored, 3: still being scored. */
function group(item: WorkItem): number {
  if (item.state !== 'done' || !item.outcome) return 3;
  return item.outcome.status === 'rejected' ? 0 : item.outcome.status === 'failed' ? 1 : 2;
}

export function needsPerson(item: WorkItem): boolean {
  return group(item) < 2;
}

export function isFinished(item: WorkItem): boolean {
  return item.state === 'done';
}

/** Rows in worklist order. */
export function worklistOrder(items: readonly WorkItem[]): WorkItem[] {
  return [...items].sort(
    (a, b) =>
      group(a) - group(b) ||
      (group(a) === 2 ? (b.outcome?.probability ?? 0) - (a.outcome?.probability ?? 0) : 0) ||
      a.id - b.id,
  );
}

/** The finished rows as CLI worklist rows (rank = position in worklist order). */
export function toWorklistRows(items: readonly WorkItem[]): WorklistRow[] {
  return worklistOrder(items)
    .filter(isFinished)
    .map((item, i) => {
      const o = item.outcome!;
      const scored = o.status === 'scored' && o.probability !== undefined;
      return {
        path: item.file.name,
        status: o.status,
        probability: o.probability !== undefined ? Number(o.probability.toFixed(6)) : null,
        label: scored ? (o.label ?? null) : null,
        flagged: scored ? (o.flagged ?? o.probability! >= o.threshold) : null,
        rank: i + 1,
        threshold: o.threshold,
        model: `${o.model.name} ${o.model.version}`,
        reason: o.status === 'scored' ? null : (o.reason ?? o.error?.message ?? null),
        error: o.status === 'failed' ? (o.error ?? null) : null,
      };
    });
}

/** The worklist as CSV, the same columns as `cxr predict`. */
export function worklistCsv(items: readonly WorkItem[]): string {
  return formatCsv(toWorklistRows(items), { heatmaps: false });
}
