/**
 * The one inference path shared by `cxr predict` and `cxr serve`: decode → batch → model → calibrate → rank.
 *
 * Decoding runs on sharp's libuv threads, so the next batch is decoded while the model scores the current one.
 * A bad input never aborts the batch: it becomes a result with an `error`, ranked after every scored input.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DEFAULT_MAX_PIXELS, DecodeError, decodeResized } from '../data/decode.ts';
import type { GrayImage } from '../data/types.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { gradCam } from '../explain/gradcam.ts';
import { renderOverlay } from '../explain/overlay.ts';
import { decodePreview } from '../explain/preview.ts';
import { loadModel } from '../model/io.ts';
import { calibrate, type ModelMetadata } from '../model/metadata.ts';
import { foldBatchNorm } from './fold-batchnorm.ts';
import type { PredictOptions, PredictResult, PredictSource } from './types.ts';

export const DEFAULT_BATCH_SIZE = 32;
/** Longest side of a heatmap overlay PNG. */
export const HEATMAP_MAX_SIDE = 512;

export interface PredictorLoadOptions {
  backend?: BackendName;
  /** Fold batch norms into convolutions for faster inference (default true; outputs agree to float rounding). */
  foldBatchNorm?: boolean;
}

/** One input after decoding: model-ready pixels, or the reason it failed. */
interface DecodedInput {
  name: string;
  pixels?: Uint8Array;
  /** Grey image at the original aspect ratio for the heatmap overlay (only when heatmaps are asked for). */
  preview?: GrayImage;
  warnings: string[];
  error?: { code: string; message: string };
}

/** Turns any failure while reading or decoding into an identifier-free, user-facing error. */
export function toResultError(err: unknown): { code: string; message: string } {
  if (err instanceof DecodeError) return { code: err.code, message: err.message };
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return { code: 'unreadable', message: 'no such file' };
  if (code === 'EISDIR') return { code: 'unreadable', message: 'is a directory' };
  if (code === 'EACCES' || code === 'EPERM') return { code: 'unreadable', message: 'permission denied' };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'failed', message: message.split('\n')[0] };
}

async function bytesOf(source: PredictSource): Promise<Uint8Array> {
  return 'bytes' in source ? source.bytes : source.read();
}

export class Predictor {
  readonly metadata: ModelMetadata;
  readonly modelCard: string | null;
  readonly dir: string;
  private readonly model: tfl.LayersModel;
  private disposed = false;

  private constructor(
    model: tfl.LayersModel,
    metadata: ModelMetadata,
    modelCard: string | null,
    dir: string,
  ) {
    this.model = model;
    this.metadata = metadata;
    this.modelCard = modelCard;
    this.dir = dir;
  }

  /** Initialises the engine (wasm unless told otherwise) and loads a model directory. */
  static async load(dir: string, options: PredictorLoadOptions = {}): Promise<Predictor> {
    await initEngine({ backend: options.backend });
    const saved = await loadModel(dir);
    let model = saved.model;
    if (options.foldBatchNorm !== false) {
      const optimised = foldBatchNorm(model);
      if (optimised.model !== model) model.dispose();
      model = optimised.model;
    }
    return new Predictor(model, saved.metadata, saved.modelCard, saved.dir);
  }

  /** Builds a predictor around an in-memory model (tests, or a caller that already holds one). */
  static fromModel(
    model: tfl.LayersModel,
    metadata: ModelMetadata,
    modelCard: string | null = null,
  ): Predictor {
    return new Predictor(model, metadata, modelCard, '');
  }

  get imageSize(): number {
    return this.metadata.preprocessing.imageSize;
  }

  /**
   * Scores every input. Results are ranked: rank 1 = highest calibrated probability; failed inputs come after
   * all scored ones, in input order, each with an `error`.
   */
  async predict(inputs: PredictSource[], options: PredictOptions = {}): Promise<PredictResult[]> {
    if (this.disposed) throw new Error('Predictor has been disposed');
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));
    const results: PredictResult[] = [];
    let done = 0;
    options.onProgress?.(0, inputs.length);
    const decodeAt = (start: number) => this.decodeBatch(inputs.slice(start, start + batchSize), options);
    let pending = inputs.length > 0 ? decodeAt(0) : null;
    for (let start = 0; pending !== null; start += batchSize) {
      const batch = await pending;
      // Start decoding the next batch before the (synchronous) forward pass, so both proceed at once.
      pending = start + batchSize < inputs.length ? decodeAt(start + batchSize) : null;
      const scored = await this.scoreBatch(batch, options);
      for (const result of scored) {
        await options.onResult?.(result);
        results.push(result);
      }
      done += batch.length;
      options.onProgress?.(done, inputs.length);
    }
    return rankResults(results);
  }

  private async decodeBatch(sources: PredictSource[], options: PredictOptions): Promise<DecodedInput[]> {
    const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    return Promise.all(
      sources.map(async (source): Promise<DecodedInput> => {
        try {
          const bytes = await bytesOf(source);
          const [decoded, preview] = await Promise.allSettled([
            decodeResized(bytes, this.imageSize, { maxPixels }),
            options.heatmaps ? decodePreview(bytes, { maxSide: HEATMAP_MAX_SIDE, maxPixels }) : undefined,
          ]);
          // The model input's error is the one to report: it names the real problem with the file.
          if (decoded.status === 'rejected') throw decoded.reason;
          if (preview.status === 'rejected') throw preview.reason;
          return {
            name: source.name,
            pixels: decoded.value.pixels,
            preview: preview.value,
            warnings: decoded.value.warnings,
          };
        } catch (err) {
          return { name: source.name, warnings: [], error: toResultError(err) };
        }
      }),
    );
  }

  private async scoreBatch(batch: DecodedInput[], options: PredictOptions): Promise<PredictResult[]> {
    const ok = batch.filter((item) => item.pixels !== undefined);
    const scores = ok.length > 0 ? this.runModel(ok, options.heatmaps === true) : null;
    const threshold = options.threshold ?? this.metadata.threshold;
    const [negative, positive] = this.metadata.classNames;
    const out: PredictResult[] = [];
    for (const item of batch) {
      if (item.error || !item.pixels) {
        out.push({ name: item.name, rank: 0, error: item.error, ...warningsOf(item) });
        continue;
      }
      const index = ok.indexOf(item);
      const probability = calibrate(scores!.raw[index], this.metadata.calibration);
      const result: PredictResult = {
        name: item.name,
        probability,
        label: probability >= threshold ? positive : negative,
        rank: 0,
        ...warningsOf(item),
      };
      if (scores!.cams && item.preview) {
        result.heatmapPng = await renderOverlay({ image: item.preview, cam: scores!.cams[index] });
      }
      out.push(result);
    }
    return out;
  }

  /** Raw model outputs (and Grad-CAM maps when asked) for decoded inputs. */
  private runModel(
    items: DecodedInput[],
    withCams: boolean,
  ): { raw: Float32Array; cams?: ReturnType<typeof gradCam>['cams'] } {
    const size = this.imageSize;
    const pixels = new Float32Array(items.length * size * size);
    items.forEach((item, i) => {
      pixels.set(item.pixels!, i * size * size);
    });
    const input = tf.tensor4d(pixels, [items.length, size, size, 1]);
    try {
      if (withCams) {
        const { probabilities, cams } = gradCam(this.model, input);
        return { raw: probabilities, cams };
      }
      const raw = tf.tidy(() => (this.model.predict(input) as tf.Tensor).dataSync() as Float32Array);
      return { raw };
    } finally {
      input.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

function warningsOf(item: DecodedInput): { warnings?: string[] } {
  return item.warnings.length > 0 ? { warnings: item.warnings } : {};
}

/** Sorts scored results by probability (highest first, ties by name), failed ones after, and numbers them. */
export function rankResults(results: PredictResult[]): PredictResult[] {
  const scored: PredictResult[] = [];
  const failed: PredictResult[] = [];
  for (const r of results) (r.error === undefined && r.probability !== undefined ? scored : failed).push(r);
  scored.sort((a, b) => b.probability! - a.probability! || a.name.localeCompare(b.name));
  const ranked = [...scored, ...failed];
  ranked.forEach((r, i) => {
    r.rank = i + 1;
  });
  return ranked;
}
