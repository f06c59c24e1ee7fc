/**
 * `cxr evaluate` as a function: score one split of a dataset with a saved model, exactly as the model's
 * metadata prescribes (input size, calibration, threshold), and measure it.
 */
import path from 'node:path';
import type { ProgressCallback } from '../core/progress.ts';
import type { BadFile, ImageRecord, SplitName } from '../core/types.ts';
import { discoverDataset } from '../data/discover.ts';
import { loadPixels } from '../data/pixels.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { computeMetrics, type EvaluationMetrics, metricWarnings } from '../metrics/summary.ts';
import { scorePixels } from '../model/infer.ts';
import { loadModel } from '../model/io.ts';
import type { ModelMetadata } from '../model/metadata.ts';

export interface EvaluateOptions {
  modelDir: string;
  dataDir: string;
  /** Which split folder to use; default `test` when present, else the only split there is. */
  split?: SplitName;
  batchSize?: number;
  backend?: BackendName;
  /** wasm threads (default: $CXR_WASM_THREADS or 1). */
  threads?: number;
  cacheDir?: string | null;
  /** Bootstrap resamples for the CIs (default 1,000). */
  bootstrapSamples?: number;
  /** Progress of a named phase ("scan data", "load images", "score"). */
  progress?: (phase: string) => { update: ProgressCallback; stop(): void };
}

export interface EvaluationResult {
  metrics: EvaluationMetrics;
  metadata: ModelMetadata;
  split: SplitName;
  /** The scored images, in the order of `probabilities` and `pixels`. */
  records: ImageRecord[];
  /** Calibrated P(PNEUMONIA) per record. */
  probabilities: Float32Array;
  /** Model-size grey pixels of the records, back to back (for the report's thumbnails). */
  pixels: Uint8Array;
  /** Files that could not be used, with the reason; they are not counted in `n`. */
  skipped: BadFile[];
  warnings: string[];
}

/** Picks the split to evaluate; an explicit choice that is absent fails with the list of present ones. */
export function chooseSplit(
  records: readonly ImageRecord[],
  requested: SplitName | undefined,
  root: string,
): SplitName {
  const present = [...new Set(records.map((r) => r.split))].sort();
  if (requested) {
    if (present.includes(requested)) return requested;
    if (present.length === 1 && present[0] === 'all') return 'all';
    throw new Error(`${root}: no "${requested}" split; present: ${present.join(', ') || 'none'}`);
  }
  if (present.includes('test')) return 'test';
  if (present.length === 1) return present[0];
  throw new Error(`${root} has splits ${present.join(', ')} but no test split; choose one with --split`);
}

async function withPhase<T>(
  options: EvaluateOptions,
  name: string,
  work: (update?: ProgressCallback) => Promise<T>,
): Promise<T> {
  const bar = options.progress?.(name);
  try {
    return await work(bar?.update);
  } finally {
    bar?.stop();
  }
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  await initEngine({ backend: options.backend, threads: options.threads });
  const saved = await loadModel(options.modelDir);
  try {
    const { metadata } = saved;
    const dataset = await withPhase(options, 'scan data', (onProgress) =>
      discoverDataset(options.dataDir, { onProgress }),
    );
    const split = chooseSplit(dataset.records, options.split, dataset.root);
    const chosen = dataset.records.filter((r) => r.split === split);
    const splitDir = split === 'all' ? dataset.root : path.join(dataset.root, split);
    const skipped = dataset.bad.filter((b) => split === 'all' || b.path.startsWith(splitDir + path.sep));
    const loaded = await withPhase(options, 'load images', (onProgress) =>
      loadPixels(chosen, {
        imageSize: metadata.preprocessing.imageSize,
        cacheDir: options.cacheDir,
        onProgress,
      }),
    );
    skipped.push(...loaded.bad);
    if (loaded.records.length === 0) {
      throw new Error(`${splitDir}: no readable images to evaluate (${skipped.length} skipped)`);
    }
    const probabilities = await withPhase(options, 'score', (onProgress) =>
      scorePixels(saved.model, metadata, loaded.pixels, { batchSize: options.batchSize, onProgress }),
    );
    const labels = Uint8Array.from(loaded.records, (r) => r.labelIndex);
    const metrics = computeMetrics({
      labels,
      probabilities,
      threshold: metadata.threshold,
      bootstrapSamples: options.bootstrapSamples,
      seed: 0,
    });
    const warnings = [...metricWarnings(labels), ...skipped.map((b) => `skipped ${b.path}: ${b.reason}`)];
    return {
      metrics,
      metadata,
      split,
      records: loaded.records,
      probabilities,
      pixels: loaded.pixels,
      skipped,
      warnings,
    };
  } finally {
    saved.model.dispose();
  }
}
