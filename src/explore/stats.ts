/**
 * Descriptive statistics of a dataset for `cxr explore`: counts per split and class, patients, subtypes, image
 * dimensions, grey-level distributions and mean images. Pure functions over records, their `ImageInfo` and the
 * packed pixels returned by `loadPixels`.
 */

import { seededRandom, shuffled } from '../core/random.ts';
import { CLASS_NAMES, type ClassName, type ImageRecord, type SplitName } from '../core/types.ts';
import type { ImageInfo } from '../data/cache.ts';

/** Count per class. */
export type ClassCounts = Record<ClassName, number>;

/** min / max / mean / median of a list of numbers (NaN when empty). */
export interface NumberSummary {
  min: number;
  max: number;
  mean: number;
  median: number;
}

/** One histogram bin: values in [start, end) (the last bin includes its end). */
export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

function zeroCounts(): ClassCounts {
  return Object.fromEntries(CLASS_NAMES.map((c) => [c, 0])) as ClassCounts;
}

/** Splits in a fixed, readable order, keeping only those present. */
export function splitsOf(records: readonly ImageRecord[]): SplitName[] {
  const present = new Set(records.map((r) => r.split));
  return (['train', 'val', 'test', 'all'] as SplitName[]).filter((s) => present.has(s));
}

/** Images per split and class. */
export function imageCounts(records: readonly ImageRecord[]): Partial<Record<SplitName, ClassCounts>> {
  const out: Partial<Record<SplitName, ClassCounts>> = {};
  for (const split of splitsOf(records)) out[split] = zeroCounts();
  for (const r of records) out[r.split]![r.label]++;
  return out;
}

export function summarize(values: readonly number[]): NumberSummary {
  if (values.length === 0) return { min: Number.NaN, max: Number.NaN, mean: Number.NaN, median: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { min: sorted[0], max: sorted[sorted.length - 1], mean, median };
}

/** Equal-width bins from min to max; a single value gets one bin of width 1 centred on it. */
export function histogramBins(values: readonly number[], bins = 20): HistogramBin[] {
  if (values.length === 0) return [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return [{ start: min - 0.5, end: max + 0.5, count: values.length }];
  const width = (max - min) / bins;
  const out = Array.from({ length: bins }, (_, i) => ({
    start: min + i * width,
    end: min + (i + 1) * width,
    count: 0,
  }));
  for (const v of values) out[Math.min(bins - 1, Math.floor((v - min) / width))].count++;
  return out;
}

/** What the patient IDs say: patients per split and class, images per patient, patients in several splits. */
export interface PatientStats {
  /** Distinct patients per split and class. */
  bySplit: Partial<Record<SplitName, ClassCounts>>;
  /** Distinct patients per class over the whole dataset. */
  total: ClassCounts;
  /** How many patients have k images, per class: `[{ images: k, patients: n }]`, ascending k. */
  imagesPerPatient: Record<ClassName, { images: number; patients: number }[]>;
  imagesPerPatientSummary: Record<ClassName, NumberSummary>;
  /** Patients whose images sit in more than one split (leakage), with those splits. */
  crossSplit: { patientId: string; splits: SplitName[] }[];
}

export function patientStats(records: readonly ImageRecord[]): PatientStats {
  const bySplit: Partial<Record<SplitName, ClassCounts>> = {};
  const seenPerSplit = new Set<string>();
  const imagesByPatient = new Map<string, { label: ClassName; images: number; splits: Set<SplitName> }>();
  for (const r of records) {
    bySplit[r.split] ??= zeroCounts();
    const key = `${r.split}\0${r.label}\0${r.patientId}`;
    if (!seenPerSplit.has(key)) {
      seenPerSplit.add(key);
      bySplit[r.split]![r.label]++;
    }
    const patient = imagesByPatient.get(r.patientId) ?? { label: r.label, images: 0, splits: new Set() };
    patient.images++;
    patient.splits.add(r.split);
    imagesByPatient.set(r.patientId, patient);
  }
  const total = zeroCounts();
  const perClass = Object.fromEntries(CLASS_NAMES.map((c) => [c, [] as number[]])) as Record<
    ClassName,
    number[]
  >;
  const crossSplit: PatientStats['crossSplit'] = [];
  for (const [patientId, p] of [...imagesByPatient].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    total[p.label]++;
    perClass[p.label].push(p.images);
    if (p.splits.size > 1) crossSplit.push({ patientId, splits: splitsOrder([...p.splits]) });
  }
  const imagesPerPatient = {} as PatientStats['imagesPerPatient'];
  const imagesPerPatientSummary = {} as PatientStats['imagesPerPatientSummary'];
  for (const c of CLASS_NAMES) {
    const tally = new Map<number, number>();
    for (const n of perClass[c]) tally.set(n, (tally.get(n) ?? 0) + 1);
    imagesPerPatient[c] = [...tally]
      .sort(([a], [b]) => a - b)
      .map(([images, patients]) => ({ images, patients }));
    imagesPerPatientSummary[c] = summarize(perClass[c]);
  }
  return { bySplit, total, imagesPerPatient, imagesPerPatientSummary, crossSplit };
}

function splitsOrder(splits: SplitName[]): SplitName[] {
  const order: SplitName[] = ['train', 'val', 'test', 'all'];
  return splits.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** Pneumonia subtypes per split (`unknown` when the name carries none). */
export function subtypeCounts(
  records: readonly ImageRecord[],
): Partial<Record<SplitName, { bacteria: number; virus: number; unknown: number }>> {
  const out: Partial<Record<SplitName, { bacteria: number; virus: number; unknown: number }>> = {};
  for (const r of records) {
    if (r.label !== 'PNEUMONIA') continue;
    out[r.split] ??= { bacteria: 0, virus: 0, unknown: 0 };
    out[r.split]![r.subtype ?? 'unknown']++;
  }
  return out;
}

/** Original image sizes: summaries overall and the raw values per class for histograms. */
export interface DimensionStats {
  width: NumberSummary;
  height: NumberSummary;
  /** width / height. */
  aspect: NumberSummary;
  byClass: Record<ClassName, { width: number[]; height: number[]; aspect: number[] }>;
}

export function dimensionStats(records: readonly ImageRecord[], info: readonly ImageInfo[]): DimensionStats {
  const byClass = Object.fromEntries(
    CLASS_NAMES.map((c) => [c, { width: [] as number[], height: [] as number[], aspect: [] as number[] }]),
  ) as DimensionStats['byClass'];
  records.forEach((r, i) => {
    byClass[r.label].width.push(info[i].width);
    byClass[r.label].height.push(info[i].height);
    byClass[r.label].aspect.push(info[i].width / info[i].height);
  });
  const all = (key: 'width' | 'height' | 'aspect') => CLASS_NAMES.flatMap((c) => byClass[c][key]);
  return {
    width: summarize(all('width')),
    height: summarize(all('height')),
    aspect: summarize(all('aspect')),
    byClass,
  };
}

/** Grey-level distribution of the resized pixels of one class. */
export interface IntensityStats {
  images: number;
  mean: number;
  std: number;
  /** Pixel counts for grey levels 0..255. */
  histogram: number[];
}

/** Per-class grey-level histograms over the packed pixels (`size` x `size` bytes per record). */
export function intensityStats(
  records: readonly ImageRecord[],
  pixels: Uint8Array,
  size: number,
): Record<ClassName, IntensityStats> {
  const bytes = size * size;
  const hist = Object.fromEntries(CLASS_NAMES.map((c) => [c, new Float64Array(256)])) as Record<
    ClassName,
    Float64Array
  >;
  const images = zeroCounts();
  records.forEach((r, i) => {
    const h = hist[r.label];
    images[r.label]++;
    for (let p = i * bytes, end = p + bytes; p < end; p++) h[pixels[p]]++;
  });
  const out = {} as Record<ClassName, IntensityStats>;
  for (const c of CLASS_NAMES) {
    const h = hist[c];
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    for (let v = 0; v < 256; v++) {
      n += h[v];
      sum += v * h[v];
      sumSq += v * v * h[v];
    }
    const mean = n ? sum / n : Number.NaN;
    const std = n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : Number.NaN;
    out[c] = { images: images[c], mean, std, histogram: Array.from(h) };
  }
  return out;
}

/** The pixel-wise mean image of each class (null for a class with no images). */
export function meanImages(
  records: readonly ImageRecord[],
  pixels: Uint8Array,
  size: number,
): Record<ClassName, Uint8Array | null> {
  const bytes = size * size;
  const sums = Object.fromEntries(CLASS_NAMES.map((c) => [c, new Float64Array(bytes)])) as Record<
    ClassName,
    Float64Array
  >;
  const counts = zeroCounts();
  records.forEach((r, i) => {
    const sum = sums[r.label];
    const offset = i * bytes;
    for (let p = 0; p < bytes; p++) sum[p] += pixels[offset + p];
    counts[r.label]++;
  });
  const out = {} as Record<ClassName, Uint8Array | null>;
  for (const c of CLASS_NAMES) {
    out[c] = counts[c] ? Uint8Array.from(sums[c], (v) => Math.round(v / counts[c])) : null;
  }
  return out;
}

/** Up to `perClass` record indices per class, picked reproducibly with `seed`, in index order. */
export function sampleIndices(
  records: readonly ImageRecord[],
  perClass: number,
  seed = 42,
): Record<ClassName, number[]> {
  const random = seededRandom(seed);
  const out = {} as Record<ClassName, number[]>;
  for (const c of CLASS_NAMES) {
    const indices = records.flatMap((r, i) => (r.label === c ? [i] : []));
    out[c] = shuffled(indices, random)
      .slice(0, perClass)
      .sort((a, b) => a - b);
  }
  return out;
}
