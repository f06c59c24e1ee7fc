/**
 * THE inference path: packed grey pixels (imageSize² uint8 values per image, as `loadPixels` and the
 * predictor's decoder produce them) → the model's raw outputs → calibrated probabilities. `cxr predict`,
 * `cxr serve`, `cxr evaluate` and training's validation, batch-norm statistics and finalisation all score
 * through here, so preprocessing and calibration cannot differ between them.
 *
 * Browser-safe on purpose (TF.js imports only, no node:*): the web app can run the same code on-device.
 * Batches are built straight from the packed bytes, one tensor per batch, never one per image.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ProgressCallback } from '../core/progress.ts';
import type { CalibrationConfig, ModelMetadata } from './metadata.ts';

export const DEFAULT_SCORE_BATCH_SIZE = 64;

/**
 * What the scorer needs of a model: a [n, S, S, 1] float32 batch of grey values in [0, 255] in, one raw output
 * per image out (P(PNEUMONIA) before calibration, shape [n] or [n, 1]), in inference mode. A TF.js LayersModel
 * is one as it is; an ensemble of several members, or a model that also exposes its features for an input
 * gate, can implement the same shape.
 */
export interface ScoringModel {
  predict(batch: tf.Tensor4D): tf.Tensor | tf.Tensor[];
}

export interface ScoreOptions {
  /** Square input side; `pixels.length` must be a multiple of imageSize². */
  imageSize: number;
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** Copies images [start, end) of `pixels` into a float32 [n, S, S, 1] tensor of grey values in [0, 255]. */
export function batchTensor(pixels: Uint8Array, imageSize: number, start: number, end: number): tf.Tensor4D {
  const area = imageSize * imageSize;
  const values = new Float32Array((end - start) * area);
  values.set(pixels.subarray(start * area, end * area));
  return tf.tensor4d(values, [end - start, imageSize, imageSize, 1]);
}

/** Number of images in a packed pixel array; throws when its length does not fit the image size. */
export function imageCount(pixels: Uint8Array, imageSize: number): number {
  const area = imageSize * imageSize;
  if (pixels.length % area !== 0) {
    throw new RangeError(
      `pixel array of ${pixels.length} bytes is not a whole number of ${imageSize}² images`,
    );
  }
  return pixels.length / area;
}

/** The model's raw (uncalibrated) sigmoid outputs, in inference mode (batch norm statistics, no dropout). */
export async function predictRawProbabilities(
  model: ScoringModel,
  pixels: Uint8Array,
  options: ScoreOptions,
): Promise<Float32Array> {
  const [raw] = await predictOutputs(model, pixels, options);
  return raw;
}

/**
 * Every output of the model for every image, in inference mode: one array per output, each holding the
 * images' values back to back (n values for the probability, n × d for a d-wide feature output). The first
 * output is the raw probability; a model built for the input gate adds its penultimate features after it.
 */
export async function predictOutputs(
  model: ScoringModel,
  pixels: Uint8Array,
  options: ScoreOptions,
): Promise<Float32Array[]> {
  const n = imageCount(pixels, options.imageSize);
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_SCORE_BATCH_SIZE));
  const out: Float32Array[] = [];
  options.onProgress?.(0, n);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const outputs = tf.tidy(() => {
      const x = batchTensor(pixels, options.imageSize, start, end);
      const y = model.predict(x);
      return (Array.isArray(y) ? y : [y]).map((t) => tf.reshape(t, [end - start, -1]));
    });
    try {
      for (const [i, output] of outputs.entries()) {
        const width = output.shape[1] ?? 1;
        out[i] ??= new Float32Array(n * width);
        out[i].set(await output.data(), start * width);
      }
    } finally {
      for (const output of outputs) output.dispose();
    }
    options.onProgress?.(end, n);
  }
  if (n === 0) out.push(new Float32Array(0));
  return out;
}

const EPS = 1e-7;

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Calibrates one raw sigmoid output: temperature scaling p = sigmoid(logit(raw) / T), or Platt scaling
 * p = sigmoid(a · logit(raw) + b). Raw outputs are clipped to [1e-7, 1 − 1e-7] before the logit.
 */
export function calibrate(raw: number, calibration: CalibrationConfig): number {
  if (calibration.method === 'none') return raw;
  if (calibration.method === 'temperature' && calibration.temperature === 1) return raw;
  const p = Math.min(1 - EPS, Math.max(EPS, raw));
  const logit = Math.log(p / (1 - p));
  return calibration.method === 'platt'
    ? sigmoid(calibration.a * logit + calibration.b)
    : sigmoid(logit / calibration.temperature);
}

/** Calibrated probabilities for raw outputs, in double precision: the one place calibration is applied. */
export function calibrateAll(raw: ArrayLike<number>, calibration: CalibrationConfig): Float64Array {
  return Float64Array.from(raw, (p) => calibrate(p, calibration));
}

/**
 * Calibrated P(PNEUMONIA) for each image, using the model's metadata (input size and temperature): the numbers
 * the stored threshold applies to. Stored as float32, like every probability array of a dataset.
 */
export async function scorePixels(
  model: ScoringModel,
  metadata: Pick<ModelMetadata, 'preprocessing' | 'calibration'>,
  pixels: Uint8Array,
  options: { batchSize?: number; onProgress?: ProgressCallback } = {},
): Promise<Float32Array> {
  const raw = await predictRawProbabilities(model, pixels, {
    ...options,
    imageSize: metadata.preprocessing.imageSize,
  });
  return Float32Array.from(calibrateAll(raw, metadata.calibration));
}
