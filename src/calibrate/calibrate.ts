/**
 * `cxr calibrate` as a function: adapt a model to one site's images and save the result as a new model
 * directory. With labels it refits the calibration (temperature or Platt) and the operating threshold on them,
 * optionally after re-estimating batch-norm statistics (AdaBN); without labels it can only do the latter.
 * The new metadata.json and MODEL_CARD.md record what was changed, on how many images, from which model, and
 * what the images measured before and after.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { type PhaseProgress, withPhase } from '../core/progress.ts';
import type { BadFile, DataFingerprint, ImageRecord, SplitName } from '../core/types.ts';
import { decodeResized } from '../data/decode.ts';
import { DecodeError } from '../data/decode-error.ts';
import { discoverDataset, splitOf } from '../data/discover.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { loadPixels } from '../data/pixels.ts';
import { defaultConcurrency, mapPool } from '../data/pool.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import type { ImageFacts } from '../gate/gate.ts';
import { screenImages } from '../gate/screen.ts';
import { rocAuc } from '../metrics/roc.ts';
import { computeMetrics, type EvaluationMetrics } from '../metrics/summary.ts';
import { describeThresholdRule, type ThresholdRule } from '../metrics/threshold.ts';
import { recomputeBatchNormStatistics } from '../model/batchnorm-stats.ts';
import { renderModelCard } from '../model/card.ts';
import { modelEvaluations, recordFromMetrics, withEvaluation } from '../model/evaluations.ts';
import { calibrateAll, predictRawProbabilities } from '../model/infer.ts';
import { loadModel, type SavedModel, saveModel } from '../model/io.ts';
import type { EvaluationRecord, ModelMetadata, RecalibrationRecord } from '../model/metadata.ts';
import { expandPaths } from '../predict/inputs.ts';
import { crossValidate, fitSite, MIN_IMAGES_PER_CLASS, type SiteCalibrationMethod } from './fit.ts';

/** Images per batch when re-estimating batch-norm statistics. */
const ADAPT_BN_BATCH = 32;

export interface CalibrateOptions {
  modelDir: string;
  /** Labelled images (NORMAL/ and PNEUMONIA/ folders, or a dataset root), or any images with `adaptBnOnly`. */
  dataDir: string;
  /** New model directory; must not exist yet (or be empty). */
  outDir: string;
  /** Which split folder of a dataset root (default: test when present, else the only one). */
  split?: SplitName;
  method: SiteCalibrationMethod;
  rule: ThresholdRule;
  /** Re-estimate batch-norm statistics on the images first (AdaBN). */
  adaptBn?: boolean;
  /** Only re-estimate batch-norm statistics; the images need no labels; calibration and threshold are kept. */
  adaptBnOnly?: boolean;
  /** Folds of the cross-validated estimate (default 5). */
  folds?: number;
  /** The command line, recorded in metadata.json. */
  command: string;
  batchSize?: number;
  backend?: BackendName;
  threads?: number;
  cacheDir?: string | null;
  bootstrapSamples?: number;
  seed?: number;
  progress?: PhaseProgress;
}

export interface CalibrationResult {
  outDir: string;
  metadata: ModelMetadata;
  /** The site's images under the parent model (labelled data only). */
  before: EvaluationMetrics | null;
  /** The same images under the new model (labelled data only; optimistic: fitted on them). */
  after: EvaluationMetrics | null;
  record: RecalibrationRecord;
  skipped: BadFile[];
  warnings: string[];
}

/** A problem with the request or the data that the user must fix (wrong folder, too few images). */
export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

async function checkOutDir(options: CalibrateOptions): Promise<void> {
  const out = path.resolve(options.outDir);
  if (out === path.resolve(options.modelDir)) {
    throw new CalibrationError(`--out ${options.outDir} is the model directory itself; choose a new folder`);
  }
  if (existsSync(out) && (await readdir(out)).length > 0) {
    throw new CalibrationError(
      `--out ${options.outDir} already exists and is not empty; choose a new folder`,
    );
  }
}

interface SiteImages {
  pixels: Uint8Array;
  /** null without labels. */
  labels: Uint8Array | null;
  patientIds: string[];
  data?: DataFingerprint;
  /** Files that could not be read, or that the input gate refused (they are neither fitted on nor counted). */
  skipped: BadFile[];
  gateWarnings: string[];
}

/** Runs the model's input gate: what it would refuse in use is not calibrated on either. */
function screen(
  saved: SavedModel,
  options: CalibrateOptions,
  facts: ImageFacts[],
  paths: string[],
  pixels: Uint8Array,
) {
  return withPhase(options.progress, 'input gate', (onFeatures) =>
    screenImages({
      model: saved.model,
      metadata: saved.metadata,
      facts,
      paths,
      pixels,
      imageSize: saved.metadata.preprocessing.imageSize,
      batchSize: options.batchSize,
      onFeatures,
    }),
  );
}

function rejectedAsSkipped(rejected: { path: string; reason: string }[]): BadFile[] {
  return rejected.map((r) => ({ path: r.path, reason: `rejected by the input gate: ${r.reason}` }));
}

async function labelledImages(options: CalibrateOptions, saved: SavedModel): Promise<SiteImages> {
  const imageSize = saved.metadata.preprocessing.imageSize;
  const dataset = await withPhase(options.progress, 'scan data', (onProgress) =>
    discoverDataset(options.dataDir, { onProgress }),
  );
  const chosen = splitOf(dataset, options.split);
  const loaded = await withPhase(options.progress, 'load images', (onProgress) =>
    loadPixels(chosen.records, { imageSize, cacheDir: options.cacheDir, onProgress }),
  );
  const screened = await screen(
    saved,
    options,
    loaded.info.map((i) => ({
      original: { width: i.width, height: i.height },
      colourfulness: i.colourfulness,
      dicom: i.dicom,
    })),
    loaded.records.map((r) => r.path),
    loaded.pixels,
  );
  const records: ImageRecord[] = screened.kept.map((i) => loaded.records[i]);
  const labels = Uint8Array.from(records, (r) => r.labelIndex);
  const skipped = [...chosen.bad, ...loaded.bad, ...rejectedAsSkipped(screened.rejected)];
  const positives = labels.reduce((s, y) => s + y, 0);
  const negatives = labels.length - positives;
  if (positives < MIN_IMAGES_PER_CLASS || negatives < MIN_IMAGES_PER_CLASS) {
    throw new CalibrationError(
      `${chosen.dir}: cxr calibrate needs at least ${MIN_IMAGES_PER_CLASS} usable images of each class to refit ` +
        `the calibration and threshold, and found ${negatives} NORMAL and ${positives} PNEUMONIA` +
        `${skipped.length > 0 ? ` (${skipped.length} files skipped: unreadable or refused by the input gate)` : ''}. ` +
        'Label more local images (a few hundred are better), or use --adapt-bn-only without labels.',
    );
  }
  return {
    pixels: screened.pixels,
    labels,
    patientIds: records.map((r) => `${r.label}/${r.patientId}`),
    data: dataFingerprint(records, chosen.dir),
    skipped,
    gateWarnings: screened.warnings,
  };
}

/** Any images under the folder (labels, if any, are ignored), decoded at the model's size. */
async function unlabelledImages(options: CalibrateOptions, saved: SavedModel): Promise<SiteImages> {
  const imageSize = saved.metadata.preprocessing.imageSize;
  const { inputs, skipped: notImages } = await expandPaths([options.dataDir]);
  const decoded: ({ pixels: Uint8Array; facts: ImageFacts; path: string } | null)[] = new Array(
    inputs.length,
  ).fill(null);
  const skipped: BadFile[] = [...notImages];
  await withPhase(options.progress, 'load images', async (onProgress) => {
    let done = 0;
    await mapPool(
      inputs.map((input, i) => ({ input, i })),
      defaultConcurrency(),
      async ({ input, i }) => {
        try {
          const image = await decodeResized(await input.read(), imageSize);
          const facts = { original: image.original, colourfulness: image.colourfulness, dicom: image.dicom };
          decoded[i] = { pixels: image.pixels, facts, path: input.name };
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          skipped.push({ path: input.name, reason: err.message });
        }
        onProgress?.(++done, inputs.length);
      },
    );
  });
  const read = decoded.filter((d) => d !== null);
  const area = imageSize * imageSize;
  const all = new Uint8Array(read.length * area);
  read.forEach((d, k) => {
    all.set(d.pixels, k * area);
  });
  const screened = await screen(
    saved,
    options,
    read.map((d) => d.facts),
    read.map((d) => d.path),
    all,
  );
  skipped.push(...rejectedAsSkipped(screened.rejected));
  if (screened.kept.length < MIN_IMAGES_PER_CLASS) {
    throw new CalibrationError(
      `${options.dataDir}: --adapt-bn-only needs at least ${MIN_IMAGES_PER_CLASS} usable images to estimate ` +
        `batch-norm statistics, and found ${screened.kept.length}` +
        `${skipped.length > 0 ? ` (${skipped.length} skipped: unreadable or refused by the input gate)` : ''}`,
    );
  }
  return { pixels: screened.pixels, labels: null, patientIds: [], skipped, gateWarnings: screened.warnings };
}

async function rawOutputs(saved: SavedModel, pixels: Uint8Array, options: CalibrateOptions, phase: string) {
  return withPhase(options.progress, phase, (onProgress) =>
    predictRawProbabilities(saved.model, pixels, {
      imageSize: saved.metadata.preprocessing.imageSize,
      batchSize: options.batchSize,
      onProgress,
    }),
  );
}

function measure(
  options: CalibrateOptions,
  labels: Uint8Array,
  probabilities: ArrayLike<number>,
  threshold: number,
) {
  return computeMetrics({
    labels,
    probabilities,
    threshold,
    bootstrapSamples: options.bootstrapSamples,
    seed: options.seed ?? 0,
  });
}

/**
 * The parent's records (its old `metrics` included) stay, renamed: they were measured with the parent's
 * calibration and threshold, not this model's.
 */
function parentRecords(metadata: ModelMetadata): EvaluationRecord[] {
  return modelEvaluations(metadata).map((r) => ({
    ...r,
    name: `${r.name} (parent model, before site calibration)`,
    note: [r.note, `Measured on ${metadata.name} at its threshold ${metadata.threshold.toFixed(4)}.`]
      .filter(Boolean)
      .join(' '),
  }));
}

export async function calibrateModel(options: CalibrateOptions): Promise<CalibrationResult> {
  await checkOutDir(options);
  await initEngine({ backend: options.backend, threads: options.threads });
  const saved = await loadModel(options.modelDir);
  try {
    const parent = saved.metadata;
    const imageSize = parent.preprocessing.imageSize;
    const site = options.adaptBnOnly
      ? await unlabelledImages(options, saved)
      : await labelledImages(options, saved);
    const n = site.pixels.length / (imageSize * imageSize);
    const warnings = [...site.gateWarnings, ...site.skipped.map((b) => `skipped ${b.path}: ${b.reason}`)];

    let raw = await rawOutputs(saved, site.pixels, options, 'score');
    const before = site.labels
      ? measure(options, site.labels, calibrateAll(raw, parent.calibration), parent.threshold)
      : null;
    const adaptBn = Boolean(options.adaptBn || options.adaptBnOnly);
    if (adaptBn) {
      const changed = recomputeBatchNormStatistics({
        model: saved.model,
        pixels: site.pixels,
        imageSize,
        batchSize: ADAPT_BN_BATCH,
        seed: options.seed ?? 0,
        batches: Math.ceil(n / ADAPT_BN_BATCH),
      });
      if (!changed) warnings.push('the model has no batch-norm layers: --adapt-bn changed nothing');
      if (site.labels) raw = await rawOutputs(saved, site.pixels, options, 'score (adapted)');
    }

    // `metrics` described the parent at its threshold: it moves into the parent's (renamed) validation record.
    const { metrics: _parentMetrics, ...inherited } = parent;
    let metadata: ModelMetadata = {
      ...inherited,
      name: path.basename(path.resolve(options.outDir)),
      createdAt: new Date().toISOString(),
      evaluations: parentRecords(parent),
    };
    let after: EvaluationMetrics | null = null;
    let crossValidated: RecalibrationRecord['crossValidated'];
    if (site.labels) {
      const auc = rocAuc(site.labels, raw);
      if (!(auc > 0.5)) {
        throw new CalibrationError(
          `${options.dataDir}: the model ranks these images no better than chance (ROC-AUC ${auc.toFixed(3)}); ` +
            'recalibrating cannot fix that. Check the labels and that the images are frontal chest X-rays.',
        );
      }
      const fit = fitSite(site.labels, raw, { method: options.method, rule: options.rule });
      after = measure(options, site.labels, fit.probabilities, fit.threshold.threshold);
      crossValidated = crossValidate(site.labels, raw, site.patientIds, {
        method: options.method,
        rule: options.rule,
        folds: options.folds,
        seed: options.seed,
      });
      metadata = { ...metadata, calibration: fit.calibration, threshold: fit.threshold.threshold };
      metadata.thresholdRule = `${describeThresholdRule(options.rule)} (site calibration)`;
    }

    const notes = [
      site.labels
        ? null
        : 'Batch-norm statistics only: the calibration and threshold are the parent model’s, unchecked on these images.',
      site.skipped.length > 0
        ? `${site.skipped.length} files were left out (unreadable, or refused by the input gate).`
        : null,
    ].filter((x): x is string => x !== null);
    const record: RecalibrationRecord = {
      createdAt: metadata.createdAt,
      from: {
        name: parent.name,
        version: parent.version,
        createdAt: parent.createdAt,
        threshold: parent.threshold,
        thresholdRule: parent.thresholdRule,
        calibration: parent.calibration,
      },
      method: site.labels ? options.method : 'none',
      thresholdRule: site.labels ? describeThresholdRule(options.rule) : null,
      adaptBn,
      labelled: site.labels !== null,
      n,
      ...(site.data ? { data: site.data } : {}),
      ...(crossValidated ? { crossValidated } : {}),
      command: options.command,
      ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
    };
    metadata.recalibration = record;
    if (after) {
      metadata = withEvaluation(
        metadata,
        recordFromMetrics({
          kind: 'site-calibration',
          name: path.basename(path.resolve(options.dataDir)),
          metrics: after,
          data: site.data,
          command: options.command,
          createdAt: metadata.createdAt,
          note: 'Measured on the images the calibration and threshold were fitted on: optimistic. The cross-validated estimate is what to expect on new images of this site.',
        }),
      );
    }
    await withPhase(options.progress, 'save', () =>
      saveModel(saved.model, options.outDir, metadata, renderModelCard(metadata)),
    );
    return { outDir: options.outDir, metadata, before, after, record, skipped: site.skipped, warnings };
  } finally {
    saved.model.dispose();
  }
}
