/**
 * `cxr evaluate --attach`: records an evaluation in the model's own metadata.json as an `external` record (data
 * fingerprint, n, metrics with intervals, command, date) and re-renders MODEL_CARD.md, so the card and the app's
 * model page show it. Written atomically; a model folder that cannot be written is refused before any scoring.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fsErrorMessage } from '../core/fs-errors.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { renderModelCard } from '../model/card.ts';
import { recordFromMetrics, withEvaluation } from '../model/evaluations.ts';
import { readMetadata, updateMetadata } from '../model/io.ts';
import type { EvaluationRecord } from '../model/metadata.ts';
import { formatTta } from '../model/tta.ts';
import type { EvaluationResult } from './evaluate.ts';

/** Throws a clear error when `modelDir` cannot take a new metadata.json (read-only folder, missing, …). */
export async function checkAttachable(modelDir: string): Promise<void> {
  const probe = path.join(modelDir, `.attach-check-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
  } catch (err) {
    throw new Error(
      `cannot attach the evaluation to ${modelDir}: the folder is not writable (${fsErrorMessage(err)}). ` +
        'Copy the model to a folder you can write (cp -r) and attach there, or run without --attach.',
    );
  } finally {
    await rm(probe, { force: true });
  }
}

/** The default name of an external evaluation: the data folder, and the split when it has several. */
export function defaultEvaluationName(dataDir: string, result: Pick<EvaluationResult, 'split'>): string {
  const base = path.basename(path.resolve(dataDir));
  return result.split === 'all' ? base : `${base}/${result.split}`;
}

/** Adds `result` to the model's metadata.json as an `external` record; returns the record. */
export async function attachEvaluation(options: {
  modelDir: string;
  dataDir: string;
  result: EvaluationResult;
  command: string;
  name?: string;
  note?: string;
}): Promise<EvaluationRecord> {
  const { result } = options;
  const { checked, rejected } = result.gate;
  const gateNote =
    rejected.length > 0
      ? `${rejected.length} of ${checked} images were rejected by the input gate and are not in these figures.`
      : undefined;
  const ttaNote = result.tta
    ? `Scored with test-time augmentation (${formatTta(result.tta)}), as \`--tta\` scores.`
    : undefined;
  const record = recordFromMetrics({
    kind: 'external',
    name: options.name ?? defaultEvaluationName(options.dataDir, result),
    metrics: result.metrics,
    data: dataFingerprint(result.records, result.splitDir),
    command: options.command,
    note: [options.note, gateNote, ttaNote].filter(Boolean).join(' ') || undefined,
  });
  // Read afresh: another command may have attached since the model was loaded.
  const metadata = withEvaluation(await readMetadata(options.modelDir), record);
  // Through JSON, so undefined metrics are stored as null exactly as metrics.json has them.
  const stored = JSON.parse(JSON.stringify(metadata));
  await updateMetadata(options.modelDir, stored, renderModelCard(stored));
  return record;
}
