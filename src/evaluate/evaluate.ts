/**
 * `cxr evaluate` as a function: score one split of a dataset with a saved model, exactly as the model's
 * metadata prescribes (input size, calibration, threshold), and measure it.
 */
import { type PhaseProgress, withPhase } from '../core/progress.ts';
import type { BadFile, ImageRecord, SplitName } from '../core/types.ts';
import { discoverDataset, splitOf } from '../data/discover.ts';
import { loadPixels } from '../data/pixels.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { type ClassActivationMap, gradCam } from '../explain/gradcam.ts';
import { screenImages } from '../gate/screen.ts';
import { computeMetrics, type EvaluationMetrics, metricWarnings } from '../metrics/summary.ts';
import { batchTensor, scorePixels } from '../model/infer.ts';
import { loadModel } from '../model/io.ts';
import type { ModelMetadata } from '../model/metadata.ts';
import { describeTta, type TtaDescription, withTta } from '../model/tta.ts';

export interface EvaluateOptions {
  modelDir: string;
  dataDir: string;
  /** Which split folder to use; default `test` when present, else the only split there is. */
  split?: SplitName;
  batchSize?: number;
  backend?: BackendName;
  /** wasm threads (default: $CXR_WASM_THREADS, else 2). */
  threads?: number;
  cacheDir?: string | null;
  /** Run the input gate's learned check when the model has one (default true; --no-gate turns it off). */
  gate?: boolean;
  /**
   * Test-time augmentation (src/model/tta.ts): score the image, a mild zoom-in and a mild zoom-out and average
   * their logits (3× the scoring time). The gate and the mistakes' Grad-CAM maps read the image as it is.
   */
  tta?: boolean;
  /** Bootstrap resamples for the CIs (default 1,000). */
  bootstrapSamples?: number;
  /** Progress of a named phase ("scan data", "load images", "score"). */
  progress?: PhaseProgress;
}

/** Most mistakes of each kind the report shows (the most confident first), each with its Grad-CAM map. */
export const MAX_MISTAKES_SHOWN = 30;

/** An image on the wrong side of the threshold. */
export interface Mistake {
  /** Index into `records`, `probabilities` and `pixels`. */
  index: number;
  /** A pneumonia the model did not flag, or a normal image it flagged. */
  kind: 'missed' | 'false-positive';
  /** Grad-CAM map on the model input grid; absent when the model has no convolutional feature map. */
  cam?: ClassActivationMap;
}

export interface EvaluationResult {
  metrics: EvaluationMetrics;
  metadata: ModelMetadata;
  split: SplitName;
  /** The folder of the split that was scored (a dataset root's test/, or the folder itself). */
  splitDir: string;
  /** The scored images, in the order of `probabilities` and `pixels`. */
  records: ImageRecord[];
  /** Calibrated P(PNEUMONIA) per record. */
  probabilities: Float32Array;
  /** Model-size grey pixels of the records, back to back (for the report's thumbnails). */
  pixels: Uint8Array;
  /** Files that could not be used, with the reason; they are not counted in `n`. */
  skipped: BadFile[];
  /** The test-time augmentation the probabilities come from; null = the images as they are. */
  tta: TtaDescription | null;
  /**
   * What the input gate did: images it rejected (not scored, not in the metrics, listed with the reason) out of
   * those it checked, and whether its learned check ran.
   */
  gate: GateSummary;
  warnings: string[];
  /** Missed pneumonias first (lowest probability first), then false positives (highest first). */
  mistakes: Mistake[];
  /** How many mistakes of each kind there are in all (the list keeps MAX_MISTAKES_SHOWN of each). */
  mistakeCounts: { missed: number; falsePositive: number };
}

/**
 * The mistakes worth looking at first: every missed pneumonia, the most confident (lowest probability) first,
 * then every false positive, the most confident (highest) first; at most `max` of each.
 */
export function selectMistakes(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold: number,
  max = MAX_MISTAKES_SHOWN,
): { mistakes: Mistake[]; counts: { missed: number; falsePositive: number } } {
  const missed: number[] = [];
  const falsePositive: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const flagged = probabilities[i] >= threshold;
    if (labels[i] === 1 && !flagged) missed.push(i);
    else if (labels[i] === 0 && flagged) falsePositive.push(i);
  }
  missed.sort((a, b) => probabilities[a] - probabilities[b] || a - b);
  falsePositive.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return {
    mistakes: [
      ...missed.slice(0, max).map((index): Mistake => ({ index, kind: 'missed' })),
      ...falsePositive.slice(0, max).map((index): Mistake => ({ index, kind: 'false-positive' })),
    ],
    counts: { missed: missed.length, falsePositive: falsePositive.length },
  };
}

/** Adds Grad-CAM maps to the mistakes (a few at a time); a model without a feature map keeps none. */
function explainMistakes(
  model: Parameters<typeof gradCam>[0],
  pixels: Uint8Array,
  imageSize: number,
  mistakes: Mistake[],
): string | undefined {
  const area = imageSize * imageSize;
  const BATCH = 16;
  try {
    for (let start = 0; start < mistakes.length; start += BATCH) {
      const chunk = mistakes.slice(start, start + BATCH);
      const packed = new Uint8Array(chunk.length * area);
      chunk.forEach((m, i) => {
        packed.set(pixels.subarray(m.index * area, (m.index + 1) * area), i * area);
      });
      const input = batchTensor(packed, imageSize, 0, chunk.length);
      try {
        const { cams } = gradCam(model, input);
        chunk.forEach((m, i) => {
          m.cam = cams[i];
        });
      } finally {
        input.dispose();
      }
    }
  } catch (err) {
    return `no Grad-CAM thumbnails: ${(err as Error).message}`;
  }
  return undefined;
}

/** The input gate's part in an evaluation (written to metrics.json as `gate`). */
export interface GateSummary {
  checked: number;
  scored: number;
  rejected: (BadFile & { check?: string })[];
  learnedCheck: boolean;
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  await initEngine({ backend: options.backend, threads: options.threads });
  const saved = await loadModel(options.modelDir);
  try {
    const { metadata } = saved;
    const dataset = await withPhase(options.progress, 'scan data', (onProgress) =>
      discoverDataset(options.dataDir, { onProgress }),
    );
    const { split, dir: splitDir, records: chosen, bad: skipped } = splitOf(dataset, options.split);
    const loaded = await withPhase(options.progress, 'load images', (onProgress) =>
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
    const imageSize = metadata.preprocessing.imageSize;
    const screened = await withPhase(options.progress, 'input gate', (onFeatures) =>
      screenImages({
        model: saved.model,
        metadata,
        facts: loaded.info.map((i) => ({
          original: { width: i.width, height: i.height },
          colourfulness: i.colourfulness,
          dicom: i.dicom,
        })),
        paths: loaded.records.map((r) => r.path),
        pixels: loaded.pixels,
        imageSize,
        learned: options.gate,
        batchSize: options.batchSize,
        onFeatures,
      }),
    );
    // Rejected images are reported, never silently dropped; the metrics are over the scored ones.
    const { rejected, pixels } = screened;
    const records = screened.kept.map((i) => loaded.records[i]);
    if (records.length === 0) {
      throw new Error(
        `${splitDir}: the input gate rejected all ${rejected.length} images; nothing to evaluate`,
      );
    }
    const scorer = options.tta ? withTta(saved.model) : saved.model;
    const probabilities = await withPhase(options.progress, 'score', (onProgress) =>
      scorePixels(scorer, metadata, pixels, { batchSize: options.batchSize, onProgress }),
    );
    const labels = Uint8Array.from(records, (r) => r.labelIndex);
    const metrics = computeMetrics({
      labels,
      probabilities,
      threshold: metadata.threshold,
      bootstrapSamples: options.bootstrapSamples,
      seed: 0,
    });
    const warnings = [
      ...screened.warnings,
      ...metricWarnings(labels),
      ...skipped.map((b) => `skipped ${b.path}: ${b.reason}`),
      ...rejected.map((r) => `rejected by the input gate ${r.path}: ${r.reason}`),
    ];
    const { mistakes, counts } = selectMistakes(labels, probabilities, metadata.threshold);
    const camWarning = explainMistakes(saved.model, pixels, imageSize, mistakes);
    if (camWarning) warnings.push(camWarning);
    return {
      metrics,
      metadata,
      split,
      splitDir,
      records,
      probabilities,
      pixels,
      skipped,
      tta: options.tta ? describeTta() : null,
      gate: {
        checked: loaded.records.length,
        scored: records.length,
        rejected,
        learnedCheck: screened.learnedCheck,
      },
      warnings,
      mistakes,
      mistakeCounts: counts,
    };
  } finally {
    saved.model.dispose();
  }
}
