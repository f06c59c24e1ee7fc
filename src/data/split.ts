/**
 * The train/validation split: carved from the training images at patient level (no child on both sides) and
 * stratified by label (each side keeps the class ratio of the whole), reproducible from a seed and recorded in a
 * JSON manifest so a run can be repeated on the same images.
 *
 * Designs (`cxr train --val-split`): `random` picks patients at random; `framing` and `appearance` hold out the
 * patients whose films are most tightly framed, or look least typical, so validation shows how the model does
 * on films unlike those it learned from (docs/model.md has what each design measured).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { seededRandom, shuffled } from '../core/random.ts';
import type { ImageRecord } from '../core/types.ts';

export const DEFAULT_VAL_FRACTION = 0.1;
export const DEFAULT_SPLIT_SEED = 42;

/** How validation patients are chosen. */
export const SPLIT_DESIGNS = ['random', 'framing', 'appearance'] as const;
export type SplitDesign = (typeof SPLIT_DESIGNS)[number];

export interface PatientSplitOptions {
  /** Share of images (per class) that go to validation, in (0, 1). Default 0.1. */
  valFraction?: number;
  /** Seed of the shuffle; the same records and seed always give the same split. Default 42. */
  seed?: number;
  /**
   * When given, patients are held out in order of their mean score, highest first, instead of at random (the
   * `framing` and `appearance` designs); ties keep patient-ID order. One score per record, by path.
   */
  scores?: ReadonlyMap<string, number>;
}

export interface TrainValSplit {
  train: ImageRecord[];
  val: ImageRecord[];
}

interface PatientGroup {
  patientId: string;
  records: ImageRecord[];
  /** Label of the patient's images (the majority one if a patient has both). */
  labelIndex: 0 | 1;
}

function groupByPatient(records: readonly ImageRecord[]): PatientGroup[] {
  const groups = new Map<string, ImageRecord[]>();
  for (const r of records) {
    const list = groups.get(r.patientId);
    if (list) list.push(r);
    else groups.set(r.patientId, [r]);
  }
  // Sorted so the shuffle input, and hence the split, does not depend on the order records came in.
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([patientId, list]) => {
      const positives = list.filter((r) => r.labelIndex === 1).length;
      return { patientId, records: list, labelIndex: positives * 2 > list.length ? 1 : 0 };
    });
}

/**
 * Picks whole patients from a shuffled list until their images reach `target`; a patient whose images would
 * overshoot the target by more than they help is skipped, so large patients don't distort the ratio.
 */
function pickValidation(groups: PatientGroup[], target: number): Set<PatientGroup> {
  const picked = new Set<PatientGroup>();
  let count = 0;
  for (const g of groups) {
    if (count >= target) break;
    const after = count + g.records.length;
    if (after - target > target - count) continue;
    picked.add(g);
    count = after;
  }
  return picked;
}

/** Patients by the mean score of their images, highest first (stable, so ties keep patient-ID order). */
function byScore(groups: PatientGroup[], scores: ReadonlyMap<string, number>): PatientGroup[] {
  const mean = (g: PatientGroup) => {
    let total = 0;
    for (const r of g.records) {
      const score = scores.get(r.path);
      if (score === undefined) throw new Error(`patient split: no score for ${r.path}`);
      total += score;
    }
    return total / g.records.length;
  };
  return groups
    .map((g) => ({ g, score: mean(g) }))
    .sort((a, b) => b.score - a.score)
    .map(({ g }) => g);
}

/**
 * Splits records into train and validation by patient, per label. Each class sends about `valFraction` of its
 * images to validation, so both sides keep the overall class ratio. Output lists are sorted by path.
 */
export function patientSplit(
  records: readonly ImageRecord[],
  options: PatientSplitOptions = {},
): TrainValSplit {
  const valFraction = options.valFraction ?? DEFAULT_VAL_FRACTION;
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new Error(`validation fraction must be between 0 and 1 (exclusive), got ${valFraction}`);
  }
  const random = seededRandom(seed);
  const groups = groupByPatient(records);
  const valGroups = new Set<PatientGroup>();
  for (const labelIndex of [0, 1] as const) {
    const ofLabel = groups.filter((g) => g.labelIndex === labelIndex);
    const images = ofLabel.reduce((n, g) => n + g.records.length, 0);
    const order = options.scores ? byScore(ofLabel, options.scores) : shuffled(ofLabel, random);
    for (const g of pickValidation(order, Math.round(images * valFraction))) valGroups.add(g);
  }
  const train: ImageRecord[] = [];
  const val: ImageRecord[] = [];
  for (const g of groups) (valGroups.has(g) ? val : train).push(...g.records);
  const byPath = (a: ImageRecord, b: ImageRecord) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return { train: train.sort(byPath), val: val.sort(byPath) };
}

export const SPLIT_MANIFEST_FORMAT = 'pneumoscope-split';

/** How the split was made; stored next to the file lists. */
export interface SplitInfo {
  /** Dataset root the relative paths are resolved against. */
  root: string;
  seed: number;
  valFraction: number;
  /** How validation patients were chosen (absent in manifests written before designs existed: random). */
  design?: SplitDesign;
}

/** The JSON manifest: relative paths (forward slashes) of each side plus how they were chosen. */
export interface SplitManifest extends SplitInfo {
  format: typeof SPLIT_MANIFEST_FORMAT;
  version: 1;
  createdAt: string;
  counts: { train: Record<string, number>; val: Record<string, number> };
  train: string[];
  val: string[];
}

function relativePath(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function classCounts(records: readonly ImageRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.label] = (counts[r.label] ?? 0) + 1;
  return counts;
}

/** Writes the split as a JSON manifest at `file` (parent folders created). */
export async function writeSplitManifest(file: string, split: TrainValSplit, info: SplitInfo): Promise<void> {
  const root = path.resolve(info.root);
  const manifest: SplitManifest = {
    format: SPLIT_MANIFEST_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    root,
    seed: info.seed,
    valFraction: info.valFraction,
    design: info.design ?? 'random',
    counts: { train: classCounts(split.train), val: classCounts(split.val) },
    train: split.train.map((r) => relativePath(root, r.path)),
    val: split.val.map((r) => relativePath(root, r.path)),
  };
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads and checks a manifest written by `writeSplitManifest`. */
export async function readSplitManifest(file: string): Promise<SplitManifest> {
  let value: Partial<SplitManifest>;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `cannot read split manifest ${file}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (value?.format !== SPLIT_MANIFEST_FORMAT || !Array.isArray(value.train) || !Array.isArray(value.val)) {
    throw new Error(`${file} is not a split manifest (expected format "${SPLIT_MANIFEST_FORMAT}")`);
  }
  return value as SplitManifest;
}

/**
 * Rebuilds a split from a manifest and freshly discovered records (matched by path relative to `root`).
 * Throws naming the first missing files, because a reproduced run on different images would be misleading.
 */
export function applySplitManifest(
  manifest: SplitManifest,
  records: readonly ImageRecord[],
  root: string,
): TrainValSplit {
  const absRoot = path.resolve(root);
  const byRelative = new Map(records.map((r) => [relativePath(absRoot, r.path), r]));
  const missing: string[] = [];
  const resolve = (list: string[]) =>
    list.flatMap((rel) => {
      const record = byRelative.get(rel);
      if (!record) missing.push(rel);
      return record ? [record] : [];
    });
  const split = { train: resolve(manifest.train), val: resolve(manifest.val) };
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} file(s) of the split manifest are missing from ${absRoot}, e.g. ${missing.slice(0, 3).join(', ')}`,
    );
  }
  return split;
}
