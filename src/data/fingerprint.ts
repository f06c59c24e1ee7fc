/** A fingerprint of a file list, stored in model metadata so a model can be traced to the data it saw. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { CLASS_NAMES, type ClassName, type DataFingerprint, type ImageRecord } from '../core/types.ts';

/**
 * Counts per class and a sha256 over the sorted "relative path<TAB>size" lines (forward slashes, one per
 * line, joined by "\n"): independent of record order and of where the dataset sits on disk.
 */
export function dataFingerprint(records: readonly ImageRecord[], root: string): DataFingerprint {
  const absRoot = path.resolve(root);
  const lines = records
    .map((r) => `${path.relative(absRoot, r.path).split(path.sep).join('/')}\t${r.size}`)
    .sort();
  const classCounts = Object.fromEntries(CLASS_NAMES.map((c) => [c, 0])) as Record<ClassName, number>;
  for (const r of records) classCounts[r.label]++;
  return {
    count: records.length,
    sha256: createHash('sha256').update(lines.join('\n')).digest('hex'),
    classCounts,
  };
}
