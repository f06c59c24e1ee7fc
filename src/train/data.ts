/**
 * The images a training run uses: the train split, and a validation set that is (in order of preference) the
 * folder given with --val-dir, the dataset's own val/ split when it is large enough to select anything, or a
 * patient-level split carved from train. Test data is never read here.
 */
import path from 'node:path';
import type { ProgressCallback } from '../core/progress.ts';
import type { DataFingerprint, ImageRecord } from '../core/types.ts';
import { splitScores } from '../data/appearance.ts';
import { discoverDataset } from '../data/discover.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { type LoadedPixels, loadPixels } from '../data/pixels.ts';
import { patientSplit, type SplitDesign, writeSplitManifest } from '../data/split.ts';
import type { PixelSet } from './batches.ts';

/** A dataset's own val/ split is used only with at least this many images per class (the official one has 8). */
export const MIN_VAL_IMAGES_PER_CLASS = 100;

/** Where the validation images came from. */
export type ValidationSource = 'val-dir' | 'val-split' | 'carved';

export interface PreparedData {
  train: PixelSet;
  val: PixelSet;
  trainRecords: ImageRecord[];
  valRecords: ImageRecord[];
  trainFingerprint: DataFingerprint;
  valFingerprint: DataFingerprint;
  valSource: ValidationSource;
  /** Things the user should know: skipped files, ignored folders, removed duplicates. */
  warnings: string[];
}

export interface PrepareDataOptions {
  dataDir: string;
  valDir?: string;
  valFraction: number;
  /** How a carved validation set picks its patients (default random). */
  valSplit?: SplitDesign;
  /** Seeds the patient split. */
  seed: number;
  imageSize: number;
  cacheDir?: string | null;
  /** Where to write split.json (the carved split's file lists); omitted = not written. */
  splitManifest?: string;
  /** Progress of a named phase ("scan", "load train", "load val"). */
  progress?: (phase: string) => { update: ProgressCallback; stop(): void };
}

function perClass(records: readonly ImageRecord[]): [number, number] {
  const positives = records.filter((r) => r.labelIndex === 1).length;
  return [records.length - positives, positives];
}

async function discover(
  dir: string,
  phase: string,
  options: PrepareDataOptions,
  warnings: string[],
): Promise<{ root: string; records: ImageRecord[] }> {
  const bar = options.progress?.(phase);
  try {
    const found = await discoverDataset(dir, { onProgress: bar?.update });
    for (const b of found.bad) warnings.push(`skipped ${b.path}: ${b.reason}`);
    return found;
  } finally {
    bar?.stop();
  }
}

/** Picks train and validation records; see the module comment for the order of preference. */
async function chooseRecords(options: PrepareDataOptions, warnings: string[]) {
  const dataset = await discover(options.dataDir, 'scan data', options, warnings);
  const bySplit = (split: string) => dataset.records.filter((r) => r.split === split);
  const train = bySplit('train').length > 0 ? bySplit('train') : bySplit('all');
  if (train.length === 0) {
    throw new Error(
      `${dataset.root}: no training images (expected train/NORMAL, train/PNEUMONIA or NORMAL, PNEUMONIA)`,
    );
  }
  if (options.valDir) {
    const valSet = await discover(options.valDir, 'scan val', options, warnings);
    return { root: dataset.root, train, val: valSet.records, valSource: 'val-dir' as const };
  }
  const ownVal = bySplit('val');
  const [valNormal, valPneumonia] = perClass(ownVal);
  if (Math.min(valNormal, valPneumonia) >= MIN_VAL_IMAGES_PER_CLASS) {
    return { root: dataset.root, train, val: ownVal, valSource: 'val-split' as const };
  }
  if (ownVal.length > 0) {
    warnings.push(
      `ignoring ${path.join(dataset.root, 'val')} (${valNormal} NORMAL, ${valPneumonia} PNEUMONIA: too few to ` +
        `select a model; needs ${MIN_VAL_IMAGES_PER_CLASS} per class): validating on a patient-level split of train`,
    );
  }
  const design = options.valSplit ?? 'random';
  const scores = design === 'random' ? undefined : await designScores(design, train, options, warnings);
  const split = patientSplit(train, { valFraction: options.valFraction, seed: options.seed, scores });
  if (options.splitManifest) {
    await writeSplitManifest(options.splitManifest, split, {
      root: dataset.root,
      seed: options.seed,
      valFraction: options.valFraction,
      design,
    });
  }
  return { root: dataset.root, train: split.train, val: split.val, valSource: 'carved' as const };
}

/** Scores for a `framing` or `appearance` split: read from the training images themselves (cached pixels). */
async function designScores(
  design: Exclude<SplitDesign, 'random'>,
  records: ImageRecord[],
  options: PrepareDataOptions,
  warnings: string[],
): Promise<Map<string, number>> {
  const loaded = await load(records, `measure ${design}`, options, warnings);
  const labels = Uint8Array.from(loaded.records, (r) => r.labelIndex);
  const scores = splitScores(design, loaded.pixels, options.imageSize, labels);
  const byPath = new Map(loaded.records.map((r, i) => [r.path, scores[i]]));
  // Files that failed to decode are dropped from training later anyway; score them last.
  for (const r of records) if (!byPath.has(r.path)) byPath.set(r.path, Number.NEGATIVE_INFINITY);
  return byPath;
}

async function load(records: ImageRecord[], phase: string, options: PrepareDataOptions, warnings: string[]) {
  const bar = options.progress?.(phase);
  try {
    const loaded = await loadPixels(records, {
      imageSize: options.imageSize,
      cacheDir: options.cacheDir,
      onProgress: bar?.update,
    });
    for (const b of loaded.bad) warnings.push(`skipped ${b.path}: ${b.reason}`);
    if (loaded.stats.cacheError) warnings.push(`pixel cache not written: ${loaded.stats.cacheError}`);
    return loaded;
  } finally {
    bar?.stop();
  }
}

function toPixelSet(loaded: Pick<LoadedPixels, 'records' | 'pixels'>): PixelSet {
  return { pixels: loaded.pixels, labels: Uint8Array.from(loaded.records, (r) => r.labelIndex) };
}

/**
 * Drops validation images whose bytes equal a training image's: the dataset has byte-identical copies, and a
 * copy on both sides would make validation look better than it is.
 */
function withoutTrainDuplicates(train: LoadedPixels, val: LoadedPixels, warnings: string[]): LoadedPixels {
  const trainHashes = new Set(train.info.map((i) => i.sha256));
  const keep = val.info.map((i) => !trainHashes.has(i.sha256));
  const removed = keep.filter((k) => !k).length;
  if (removed === 0) return val;
  warnings.push(`removed ${removed} validation image(s) that are byte-identical copies of training images`);
  const area = val.records.length > 0 ? val.pixels.length / val.records.length : 0;
  const pixels = new Uint8Array((val.records.length - removed) * area);
  let k = 0;
  val.records.forEach((_, i) => {
    if (keep[i]) pixels.set(val.pixels.subarray(i * area, (i + 1) * area), area * k++);
  });
  return {
    ...val,
    records: val.records.filter((_, i) => keep[i]),
    info: val.info.filter((_, i) => keep[i]),
    pixels,
  };
}

export async function prepareTrainingData(options: PrepareDataOptions): Promise<PreparedData> {
  const warnings: string[] = [];
  const chosen = await chooseRecords(options, warnings);
  const train = await load(chosen.train, 'load train images', options, warnings);
  const val = withoutTrainDuplicates(
    train,
    await load(chosen.val, 'load validation images', options, warnings),
    warnings,
  );
  for (const [name, records] of [
    ['training', train.records],
    ['validation', val.records],
  ] as const) {
    const [normal, pneumonia] = perClass(records);
    if (normal === 0 || pneumonia === 0) {
      throw new Error(
        `the ${name} set needs images of both classes; got ${normal} NORMAL and ${pneumonia} PNEUMONIA`,
      );
    }
  }
  const valRoot = options.valDir ? path.resolve(options.valDir) : chosen.root;
  return {
    train: toPixelSet(train),
    val: toPixelSet(val),
    trainRecords: train.records,
    valRecords: val.records,
    trainFingerprint: dataFingerprint(train.records, chosen.root),
    valFingerprint: dataFingerprint(val.records, valRoot),
    valSource: chosen.valSource,
    warnings,
  };
}
