/**
 * The validation shift suite on any model directory that has a split.json (as `cxr train` writes): its validation
 * images re-rendered by every shift of src/data/shift.ts, scored with the model's calibration, one line per shift
 * at the model's stored threshold, then all shifts pooled. docs/model.md quotes its output.
 *
 *   node --import tsx scripts/shift-suite.ts MODEL_DIR [MODEL_DIR ...] [--data DATASET_ROOT] [--tta]
 *
 * DATASET_ROOT defaults to the root recorded in split.json. --tta scores with test-time augmentation
 * (src/model/tta.ts), as `cxr predict --tta` does.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { discoverDataset } from '../src/data/discover.ts';
import { loadPixels } from '../src/data/pixels.ts';
import { applyShift, SHIFT_SUITE } from '../src/data/shift.ts';
import { initEngine } from '../src/engine/backend.ts';
import { expectedCalibrationError } from '../src/metrics/calibration.ts';
import { confusionAt, ratesFrom } from '../src/metrics/confusion.ts';
import { rocAuc } from '../src/metrics/roc.ts';
import { scorePixels } from '../src/model/infer.ts';
import { loadModel } from '../src/model/io.ts';
import { describeTta, formatTta, withTta } from '../src/model/tta.ts';

const args = process.argv.slice(2);
const dataAt = args.indexOf('--data');
const dataRoot = dataAt >= 0 ? args.splice(dataAt, 2)[1] : undefined;
const ttaAt = args.indexOf('--tta');
const tta = ttaAt >= 0 && args.splice(ttaAt, 1).length === 1;
await initEngine({});

function line(name: string, labels: Uint8Array, p: Float32Array, threshold: number): string {
  const rates = ratesFrom(confusionAt(labels, p, threshold));
  const f = (x: number) => x.toFixed(3);
  return `${name.padEnd(13)} ROC-AUC ${rocAuc(labels, p).toFixed(4)}  sensitivity ${f(rates.sensitivity)}  specificity ${f(rates.specificity)}  ECE ${f(expectedCalibrationError(labels, p))}`;
}

for (const dir of args) {
  const saved = await loadModel(dir);
  const model = tta ? withTta(saved.model) : saved.model;
  const size = saved.metadata.preprocessing.imageSize;
  const split = JSON.parse(await readFile(path.join(dir, 'split.json'), 'utf8'));
  const root = path.resolve(dataRoot ?? split.root);
  const val = new Set<string>(split.val.map((p: string) => path.resolve(root, p)));
  const dataset = await discoverDataset(root);
  const loaded = await loadPixels(
    dataset.records.filter((r) => val.has(path.resolve(r.path))),
    { imageSize: size },
  );
  const labels = Uint8Array.from(loaded.records, (r) => r.labelIndex);
  const { threshold } = saved.metadata;
  console.log(
    `${dir}: ${size} px, ${labels.length} validation images, threshold ${threshold.toFixed(3)}` +
      (tta ? `, test-time augmentation: ${formatTta(describeTta())}` : ''),
  );
  let scoring = 0;
  const score = async (pixels: Uint8Array) => {
    const start = performance.now();
    const p = await scorePixels(model, saved.metadata, pixels);
    scoring += performance.now() - start;
    return p;
  };
  console.log(line('none', labels, await score(loaded.pixels), threshold));
  const pooledLabels: number[] = [];
  const pooled: number[] = [];
  for (const shift of SHIFT_SUITE) {
    const p = await score(applyShift(loaded.pixels, size, shift, 7));
    console.log(line(shift.name, labels, p, threshold));
    pooledLabels.push(...labels);
    pooled.push(...p);
  }
  console.log(line('pooled', Uint8Array.from(pooledLabels), Float32Array.from(pooled), threshold));
  const scored = labels.length * (SHIFT_SUITE.length + 1);
  console.log(`scoring alone: ${scored} images in ${(scoring / 1000).toFixed(1)} s`);
  saved.model.dispose();
}
