/**
 * Scoring files and uploads for `cxr predict` and `cxr serve`: decode → batch → score (src/model/infer.ts, the
 * one inference path) → rank, with Grad-CAM overlays when asked for.
 *
 * Decoding runs on sharp's libuv threads, so the next batch is decoded while the model scores the current one.
 * A bad input never aborts the batch: it becomes a result with an `error`, ranked after every scored input.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { fsErrorCode, fsErrorMessage } from '../core/fs-errors.ts';
import type { GrayImage } from '../core/types.ts';
import { DEFAULT_MAX_PIXELS, decodePreview, decodeResized } from '../data/decode.ts';
import { DecodeError } from '../data/decode-error.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { gradCam } from '../explain/gradcam.ts';
import { renderOverlay } from '../explain/overlay.ts';
import { concatFeatures, type FeatureModel, withFeatures } from '../gate/features.ts';
import { type GateVerdict, type ImageFacts, InputGate } from '../gate/gate.ts';
import { foldBatchNorm } from '../model/fold-batchnorm.ts';
import { batchTensor, calibrateAll, predictOutputs, type ScoringModel } from '../model/infer.ts';
import { loadModel } from '../model/io.ts';
import type { ModelMetadata } from '../model/metadata.ts';
import { describeTta, type TtaDescription, withTta } from '../model/tta.ts';
import type { PredictOptions, PredictResult, PredictSource } from './types.ts';

export const DEFAULT_BATCH_SIZE = 32;
/** Longest side of a heatmap overlay PNG. */
export const HEATMAP_MAX_SIDE = 512;

export interface PredictorLoadOptions {
  backend?: BackendName;
  /**
   * Run the input gate's learned check when the model has one (default true). False = cheap checks only
   * (`--no-gate`, for research on inputs the gate would refuse).
   */
  gate?: boolean;
  /** Fold batch norms into convolutions for faster inference (default true; outputs agree to float rounding). */
  foldBatchNorm?: boolean;
  /**
   * Test-time augmentation (src/model/tta.ts): each probability is the mean logit of the image, a mild zoom-in
   * and a mild zoom-out (3× the scoring time). The gate and Grad-CAM read the image as it is. Default false.
   */
  tta?: boolean;
}

/** What `Predictor.fromModel` takes besides the model and its metadata. */
type PredictorOptions = Pick<PredictorLoadOptions, 'gate' | 'tta'>;

/** One input after decoding: model-ready pixels, or the reason it failed. */
interface DecodedInput {
  name: string;
  pixels?: Uint8Array;
  /** What the gate's cheap checks need besides the pixels. */
  facts?: ImageFacts;
  /** Grey image at the original aspect ratio for the heatmap overlay (only when heatmaps are asked for). */
  preview?: GrayImage;
  warnings: string[];
  error?: { code: string; message: string };
}

/** Turns any failure while reading or decoding into an identifier-free, user-facing error. */
export function toResultError(err: unknown): { code: string; message: string } {
  if (err instanceof DecodeError) return { code: err.code, message: err.message };
  return { code: fsErrorCode(err) ? 'unreadable' : 'failed', message: fsErrorMessage(err) };
}

async function bytesOf(source: PredictSource): Promise<Uint8Array> {
  return 'bytes' in source ? source.bytes : source.read();
}

export class Predictor {
  readonly metadata: ModelMetadata;
  readonly modelCard: string | null;
  readonly dir: string;
  /** The input gate every input passes before it is labelled (src/gate). */
  readonly gate: InputGate;
  /** The test-time augmentation the probabilities come from; null = the image as it is. */
  readonly tta: TtaDescription | null;
  private readonly model: tfl.LayersModel;
  /** The model with its penultimate features as extra outputs, when the learned check runs. */
  private readonly featureModel: FeatureModel | null;
  /** What scores: `model`, or (learned check) `featureModel.model`, wrapped for TTA when asked. */
  private readonly scorer: ScoringModel;
  private disposed = false;

  private constructor(
    model: tfl.LayersModel,
    metadata: ModelMetadata,
    modelCard: string | null,
    dir: string,
    options: PredictorOptions = {},
  ) {
    this.model = model;
    this.metadata = metadata;
    this.modelCard = modelCard;
    this.dir = dir;
    this.gate = InputGate.forModel(metadata, { learned: options.gate });
    this.featureModel = this.gate.learned ? withFeatures(model) : null;
    this.tta = options.tta ? describeTta() : null;
    const scorer = this.featureModel?.model ?? model;
    this.scorer = options.tta ? withTta(scorer) : scorer;
    if (this.featureModel && this.featureModel.featureSize !== this.gate.featureSize) {
      throw new Error(
        `metadata.gate was fitted on ${this.gate.featureSize} features, the model has ${this.featureModel.featureSize}; refit it with \`cxr gate\``,
      );
    }
  }

  /** Why the gate is weaker than it could be (no gate data in the model, or --no-gate). */
  get warnings(): string[] {
    return this.gate.warnings;
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
    return new Predictor(model, saved.metadata, saved.modelCard, saved.dir, {
      gate: options.gate,
      tta: options.tta,
    });
  }

  /** Builds a predictor around an in-memory model (tests, or a caller that already holds one). */
  static fromModel(
    model: tfl.LayersModel,
    metadata: ModelMetadata,
    modelCard: string | null = null,
    options: PredictorOptions = {},
  ): Predictor {
    return new Predictor(model, metadata, modelCard, '', options);
  }

  get imageSize(): number {
    return this.metadata.preprocessing.imageSize;
  }

  /**
   * Scores every input. Results are ranked: inputs that need a person first (rejected by the gate, then failed,
   * in input order), then scored ones, highest calibrated probability first.
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
          const { pixels, original, colourfulness, dicom, warnings } = decoded.value;
          return {
            name: source.name,
            pixels,
            facts: { original, colourfulness, ...(dicom ? { dicom } : {}) },
            preview: preview.value,
            warnings,
          };
        } catch (err) {
          return { name: source.name, warnings: [], error: toResultError(err) };
        }
      }),
    );
  }

  private async scoreBatch(batch: DecodedInput[], options: PredictOptions): Promise<PredictResult[]> {
    const ok = batch.filter((item) => item.pixels !== undefined);
    const scores = ok.length > 0 ? await this.runModel(ok, options.heatmaps === true) : null;
    const threshold = options.threshold ?? this.metadata.threshold;
    const [negative, positive] = this.metadata.classNames;
    const out: PredictResult[] = [];
    for (const item of batch) {
      if (item.error || !item.pixels) {
        const error = item.error ?? { code: 'failed', message: 'could not be decoded' };
        out.push({
          name: item.name,
          status: 'failed',
          reason: error.message,
          rank: 0,
          error,
          ...warningsOf(item),
        });
        continue;
      }
      const index = ok.indexOf(item);
      const probability = scores!.probabilities[index];
      const verdict = scores!.verdicts[index];
      const gate = gateDetails(verdict);
      if (!verdict.passed) {
        // Never labelled: its probability is kept for transparency only.
        out.push({
          name: item.name,
          status: 'rejected',
          reason: verdict.reason,
          probability,
          rank: 0,
          ...(gate ? { gate } : {}),
          ...warningsOf(item),
        });
        continue;
      }
      const result: PredictResult = {
        name: item.name,
        status: 'scored',
        probability,
        label: probability >= threshold ? positive : negative,
        rank: 0,
        ...(gate ? { gate } : {}),
        ...warningsOf(item),
      };
      if (scores!.cams) result.cam = scores!.cams[index];
      if (scores!.cams && item.preview) {
        result.heatmapPng = await renderOverlay({ image: item.preview, cam: scores!.cams[index] });
      }
      out.push(result);
    }
    return out;
  }

  /**
   * Calibrated probabilities, the gate's verdicts (and Grad-CAM maps when asked) for decoded inputs. One scoring
   * pass yields both the probabilities and the penultimate features the learned check reads (those of the image
   * as it is, with or without TTA). Grad-CAM explains the image as it is; its forward pass gives the
   * probabilities too, unless TTA needs its own pass for them.
   */
  private async runModel(
    items: DecodedInput[],
    withCams: boolean,
  ): Promise<{
    probabilities: Float64Array;
    verdicts: GateVerdict[];
    cams?: ReturnType<typeof gradCam>['cams'];
  }> {
    const area = this.imageSize * this.imageSize;
    const pixels = new Uint8Array(items.length * area);
    items.forEach((item, i) => {
      pixels.set(item.pixels!, i * area);
    });
    const facts = items.map((item) => item.facts!);
    const scored = withCams && !this.tta && !this.featureModel ? null : await this.score(pixels);
    const verdicts = this.gate.judge(facts, pixels, this.imageSize, scored?.penultimate ?? null);
    if (!withCams) return { probabilities: scored!.probabilities, verdicts };
    const input = batchTensor(pixels, this.imageSize, 0, items.length);
    try {
      const { probabilities: raw, cams } = gradCam(this.model, input);
      const probabilities = this.tta ? scored!.probabilities : calibrateAll(raw, this.metadata.calibration);
      return { probabilities, verdicts, cams };
    } finally {
      input.dispose();
    }
  }

  /** Calibrated probabilities of packed pixels, with the learned check's features when it runs. */
  private async score(
    pixels: Uint8Array,
  ): Promise<{ probabilities: Float64Array; penultimate: Float32Array | null }> {
    const n = pixels.length / (this.imageSize * this.imageSize);
    const outputs = await predictOutputs(this.scorer, pixels, { imageSize: this.imageSize, batchSize: n });
    const penultimate = this.featureModel
      ? concatFeatures(outputs.slice(1), this.featureModel.widths, n)
      : null;
    return { probabilities: calibrateAll(outputs[0], this.metadata.calibration), penultimate };
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

/** The gate's details for a result row, or undefined when there is nothing to say. */
function gateDetails(verdict: GateVerdict): PredictResult['gate'] {
  if (verdict.passed && verdict.distance === undefined) return undefined;
  return {
    ...(verdict.check ? { check: verdict.check } : {}),
    ...(verdict.distance !== undefined ? { distance: Number(verdict.distance.toFixed(3)) } : {}),
    ...(verdict.threshold !== undefined ? { threshold: Number(verdict.threshold.toFixed(3)) } : {}),
  };
}

/**
 * Puts results in reading order and numbers them: inputs that need a person first (rejected, then failed, each
 * in input order), then scored ones by probability (highest first, ties by name).
 */
export function rankResults(results: PredictResult[]): PredictResult[] {
  const scored: PredictResult[] = [];
  const rejected: PredictResult[] = [];
  const failed: PredictResult[] = [];
  for (const r of results) {
    if (r.status === 'scored') scored.push(r);
    else if (r.status === 'rejected') rejected.push(r);
    else failed.push(r);
  }
  scored.sort((a, b) => b.probability! - a.probability! || a.name.localeCompare(b.name));
  const ranked = [...rejected, ...failed, ...scored];
  ranked.forEach((r, i) => {
    r.rank = i + 1;
  });
  return ranked;
}
