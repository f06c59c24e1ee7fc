/**
 * The data-exploration pipeline behind `cxr explore`: scan a dataset, load its pixels (through the cache), and
 * compute every count, distribution, duplicate and bad file the report shows. Returns plain data; rendering
 * lives in ./report.ts.
 */
import path from 'node:path';
import {
  CLASS_NAMES,
  type ClassName,
  type GrayImage,
  type ImageRecord,
  type SplitName,
} from '../core/types.ts';
import { type ImageInfo, resolveCacheDir } from '../data/cache.ts';
import { discoverDataset } from '../data/discover.ts';
import { loadPixels } from '../data/pixels.ts';
import { InputGate } from '../gate/gate.ts';
import {
  DHASH_SIZE,
  type DuplicateGroup,
  differenceHash,
  exactDuplicates,
  type HashedImage,
  nearDuplicates,
} from './duplicates.ts';
import {
  type ClassCounts,
  type DimensionStats,
  dimensionStats,
  type IntensityStats,
  imageCounts,
  intensityStats,
  meanImages,
  type NumberSummary,
  type PatientStats,
  patientStats,
  sampleIndices,
  subtypeCounts,
} from './stats.ts';

export const EXPLORE_FORMAT = 'pneumoscope-explore';
/** Default analysis size: the default model input size, so explore warms the same cache training uses. */
export const DEFAULT_EXPLORE_IMAGE_SIZE = 128;
export const DEFAULT_SAMPLES_PER_CLASS = 16;

export interface ExploreOptions {
  /** Dataset root in the Kaggle layout. */
  dataDir: string;
  imageSize?: number;
  /** See `loadPixels`: undefined = default location, null = no cache. */
  cacheDir?: string | null;
  samplesPerClass?: number;
  /** Hamming-distance threshold for near-duplicates (out of 256 bits). */
  nearDuplicateThreshold?: number;
  concurrency?: number;
  /** Progress of the two long stages. */
  onProgress?: (stage: 'scan' | 'decode', done: number, total: number) => void;
}

/** A file in the summary: path relative to the dataset root. */
export interface SummaryFile {
  path: string;
  split: SplitName;
  label: ClassName;
}

export interface SummaryDuplicateGroup {
  files: SummaryFile[];
  crossSplit: boolean;
  labelConflict: boolean;
}

/** `summary.json`: every number the report shows, JSON-serialisable. */
export interface ExploreSummary {
  format: typeof EXPLORE_FORMAT;
  version: 1;
  generatedAt: string;
  dataRoot: string;
  /** `splits` for ROOT/{train,val,test}/CLASS, `single` for ROOT/CLASS. */
  layout: 'splits' | 'single';
  imageSize: number;
  totals: { files: number; images: number; badFiles: number; patients: number };
  /** Usable images per split and class. */
  images: Partial<Record<SplitName, ClassCounts & { total: number }>>;
  classTotals: ClassCounts;
  patients: Omit<PatientStats, 'crossSplit'> & {
    crossSplit: { count: number; list: PatientStats['crossSplit'] };
  };
  subtypes: ReturnType<typeof subtypeCounts>;
  dimensions: { width: NumberSummary; height: NumberSummary; aspect: NumberSummary };
  intensity: Record<ClassName, IntensityStats>;
  duplicates: {
    exact: {
      method: string;
      groups: number;
      /** Files beyond the first of each group. */
      extraCopies: number;
      crossSplitGroups: number;
      labelConflictGroups: number;
      list: SummaryDuplicateGroup[];
    };
    near: {
      method: string;
      threshold: number;
      groups: number;
      crossSplitGroups: number;
      nearestDistance: { p1: number; p5: number; median: number };
      list: SummaryDuplicateGroup[];
    };
  };
  badFiles: { count: number; list: { path: string; reason: string }[] };
  /**
   * Images the input gate's cheap checks (src/gate/checks.ts) would refuse: a training set should hold none.
   * The learned check needs a model and runs in `cxr evaluate` and `cxr gate`, not here.
   */
  gate: { checks: string; count: number; list: { path: string; check: string; reason: string }[] };
  cache: { dir: string | null; hits: number; decoded: number };
}

export interface ExploreResult {
  summary: ExploreSummary;
  /** Raw dimensions per class, for histograms. */
  dimensions: DimensionStats;
  meanImages: Record<ClassName, GrayImage | null>;
  /** A square-ish grid of sample images per class. */
  sampleGrids: Record<ClassName, GrayImage | null>;
  /** The sampled images' relative paths per class, in grid order (row-major). */
  samplePaths: Record<ClassName, string[]>;
}

/** The images the gate's cheap checks would refuse (data quality: size, aspect, contrast, colour, DICOM). */
function gateQuality(
  root: string,
  records: readonly ImageRecord[],
  info: readonly ImageInfo[],
  pixels: Uint8Array,
  imageSize: number,
): ExploreSummary['gate'] {
  const gate = InputGate.cheapOnly();
  const verdicts = gate.judge(
    info.map((i) => ({
      original: { width: i.width, height: i.height },
      colourfulness: i.colourfulness,
      dicom: i.dicom,
    })),
    pixels,
    imageSize,
  );
  const list = verdicts.flatMap((v, i) =>
    v.passed ? [] : [{ path: relative(root, records[i].path), check: v.check ?? '', reason: v.reason ?? '' }],
  );
  return { checks: 'size, aspect ratio, DICOM attributes, colour, contrast', count: list.length, list };
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function summaryGroups(root: string, groups: DuplicateGroup[]): SummaryDuplicateGroup[] {
  return groups.map((g) => ({
    files: g.members.map((m) => ({ path: relative(root, m.path), split: m.split, label: m.label })),
    crossSplit: g.crossSplit,
    labelConflict: g.labelConflict,
  }));
}

/** Tiles `indices`' images (size x size each) into a grid with `gap` black pixels between tiles. */
function tileGrid(indices: number[], pixels: Uint8Array, size: number, gap = 2): GrayImage | null {
  if (indices.length === 0) return null;
  const cols = Math.ceil(Math.sqrt(indices.length));
  const rows = Math.ceil(indices.length / cols);
  const width = cols * size + (cols - 1) * gap;
  const height = rows * size + (rows - 1) * gap;
  const data = new Uint8Array(width * height);
  indices.forEach((index, k) => {
    const x0 = (k % cols) * (size + gap);
    const y0 = Math.floor(k / cols) * (size + gap);
    for (let y = 0; y < size; y++) {
      const from = index * size * size + y * size;
      data.set(pixels.subarray(from, from + size), (y0 + y) * width + x0);
    }
  });
  return { width, height, data };
}

function countsWithTotal(counts: Partial<Record<SplitName, ClassCounts>>) {
  const out: ExploreSummary['images'] = {};
  for (const [split, c] of Object.entries(counts) as [SplitName, ClassCounts][]) {
    out[split] = { ...c, total: CLASS_NAMES.reduce((n, k) => n + c[k], 0) };
  }
  return out;
}

function hashAll(records: ImageRecord[], pixels: Uint8Array, size: number): Uint32Array[] {
  const bytes = size * size;
  return records.map((_, i) => differenceHash(pixels.subarray(i * bytes, (i + 1) * bytes), size));
}

/** Runs the whole analysis. Bad files are collected, never thrown; a missing dataset root throws. */
export async function exploreDataset(options: ExploreOptions): Promise<ExploreResult> {
  const imageSize = options.imageSize ?? DEFAULT_EXPLORE_IMAGE_SIZE;
  const scan = await discoverDataset(options.dataDir, {
    onProgress: (done, total) => options.onProgress?.('scan', done, total),
  });
  const cacheDir = resolveCacheDir(options.cacheDir);
  const loaded = await loadPixels(scan.records, {
    imageSize,
    cacheDir,
    concurrency: options.concurrency,
    onProgress: (done, total) => options.onProgress?.('decode', done, total),
  });
  const { records, pixels, info } = loaded;
  const root = scan.root;
  const hashed: HashedImage[] = records.map((r, i) => ({ ...r, sha256: info[i].sha256 }));
  const exact = exactDuplicates(hashed);
  const near = nearDuplicates(hashed, hashAll(records, pixels, imageSize), {
    threshold: options.nearDuplicateThreshold,
  });
  const patients = patientStats(records);
  const dimensions = dimensionStats(records, info);
  const bad = [...scan.bad, ...loaded.bad].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const classTotals = Object.fromEntries(
    CLASS_NAMES.map((c) => [c, records.filter((r) => r.label === c).length]),
  ) as ClassCounts;
  const summary: ExploreSummary = {
    format: EXPLORE_FORMAT,
    version: 1,
    generatedAt: new Date().toISOString(),
    dataRoot: root,
    layout: records.some((r) => r.split === 'all') ? 'single' : 'splits',
    imageSize,
    totals: {
      files: scan.records.length + scan.bad.length,
      images: records.length,
      badFiles: bad.length,
      patients: CLASS_NAMES.reduce((n, c) => n + patients.total[c], 0),
    },
    images: countsWithTotal(imageCounts(records)),
    classTotals,
    patients: { ...patients, crossSplit: { count: patients.crossSplit.length, list: patients.crossSplit } },
    subtypes: subtypeCounts(records),
    dimensions: { width: dimensions.width, height: dimensions.height, aspect: dimensions.aspect },
    intensity: intensityStats(records, pixels, imageSize),
    duplicates: {
      exact: {
        method: 'sha256 of file bytes',
        groups: exact.length,
        extraCopies: exact.reduce((n, g) => n + g.members.length - 1, 0),
        crossSplitGroups: exact.filter((g) => g.crossSplit).length,
        labelConflictGroups: exact.filter((g) => g.labelConflict).length,
        list: summaryGroups(root, exact),
      },
      near: {
        method: `difference hash (${DHASH_SIZE}x${DHASH_SIZE} = ${DHASH_SIZE ** 2} bits) of the ${imageSize}px grey image, Hamming distance`,
        threshold: near.threshold,
        groups: near.groups.length,
        crossSplitGroups: near.groups.filter((g) => g.crossSplit).length,
        nearestDistance: near.nearestDistance,
        list: summaryGroups(root, near.groups),
      },
    },
    badFiles: {
      count: bad.length,
      list: bad.map((b) => ({ path: relative(root, b.path), reason: b.reason })),
    },
    gate: gateQuality(root, records, info, pixels, imageSize),
    cache: { dir: cacheDir, hits: loaded.stats.cacheHits, decoded: loaded.stats.decoded },
  };
  const means = meanImages(records, pixels, imageSize);
  const samples = sampleIndices(records, options.samplesPerClass ?? DEFAULT_SAMPLES_PER_CLASS);
  const meanImagesOut = {} as ExploreResult['meanImages'];
  const sampleGrids = {} as ExploreResult['sampleGrids'];
  const samplePaths = {} as ExploreResult['samplePaths'];
  for (const c of CLASS_NAMES) {
    const mean = means[c];
    meanImagesOut[c] = mean ? { width: imageSize, height: imageSize, data: mean } : null;
    sampleGrids[c] = tileGrid(samples[c], pixels, imageSize);
    samplePaths[c] = samples[c].map((i) => relative(root, records[i].path));
  }
  return { summary, dimensions, meanImages: meanImagesOut, sampleGrids, samplePaths };
}
