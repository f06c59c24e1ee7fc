/**
 * Lays out a dataset for measuring a held-out design the way an external test set is measured: B = the patients
 * a scored design picks (`framing` or `appearance`, 12% per class, whole patients), A = a random 10% of the rest.
 * Writes OUT/train/{NORMAL,PNEUMONIA} and OUT/val/{...} (A: `cxr train --data OUT` validates on it) and
 * OUT-B/{...} (B: measure with `cxr evaluate --data OUT-B`). Files are copied, so OUT is self-contained.
 *
 *   node --import tsx scripts/heldout-split.ts framing|appearance DATASET_ROOT OUT
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ImageRecord } from '../src/core/types.ts';
import { splitScores } from '../src/data/appearance.ts';
import { discoverDataset } from '../src/data/discover.ts';
import { loadPixels } from '../src/data/pixels.ts';
import { patientSplit } from '../src/data/split.ts';

const [design, root, out] = process.argv.slice(2);
if ((design !== 'framing' && design !== 'appearance') || !root || !out) {
  console.error('usage: node --import tsx scripts/heldout-split.ts framing|appearance DATASET_ROOT OUT');
  process.exit(2);
}
// The scores are read at 64 px, as `cxr train --val-split` reads them at the model's input size.
const SIZE = 64;
const dataset = await discoverDataset(root);
const train = dataset.records.filter((r) => r.split === 'train' || r.split === 'all');
const loaded = await loadPixels(train, { imageSize: SIZE });
const labels = Uint8Array.from(loaded.records, (r) => r.labelIndex);
const scores = splitScores(design, loaded.pixels, SIZE, labels);
const b = patientSplit(loaded.records, {
  valFraction: 0.12,
  scores: new Map(loaded.records.map((r, i) => [r.path, scores[i]])),
});
const a = patientSplit(b.train, { valFraction: 0.1, seed: 42 });

async function copyAll(records: ImageRecord[], dir: string): Promise<void> {
  for (const r of records) {
    const target = path.join(dir, r.label);
    await mkdir(target, { recursive: true });
    await copyFile(r.path, path.join(target, path.basename(r.path)));
  }
}
await rm(out, { recursive: true, force: true });
await rm(`${out}-B`, { recursive: true, force: true });
await copyAll(a.train, path.join(out, 'train'));
await copyAll(a.val, path.join(out, 'val'));
await copyAll(b.val, `${out}-B`);
console.log(
  `${design}: train ${a.train.length}, A (${out}/val) ${a.val.length}, B (${out}-B) ${b.val.length}`,
);
