/**
 * Batched scoring of packed pixel arrays (imageSize² uint8 grey values per image, as `loadPixels` returns them):
 * the inference path of training-time validation and of `cxr evaluate`. Batches are built straight from the
 * packed bytes, one tensor per batch, never one per image.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ProgressCallback } from '../cli/progress.ts';
import { calibrate, type ModelMetadata } from '../model/metadata.ts';

export const DEFAULT_SCORE_BATCH_SIZE = 64;

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
  model: tfl.LayersModel,
  pixels: Uint8Array,
  options: ScoreOptions,
): Promise<Float32Array> {
  const n = imageCount(pixels, options.imageSize);
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_SCORE_BATCH_SIZE));
  const out = new Float32Array(n);
  options.onProgress?.(0, n);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const output = tf.tidy(() => {
      const x = batchTensor(pixels, options.imageSize, start, end);
      return tf.reshape(model.predict(x) as tf.Tensor, [end - start]);
    });
    try {
      out.set(await output.data(), start);
    } finally {
      output.dispose();
    }
    options.onProgress?.(end, n);
  }
  return out;
}

/**
 * Calibrated P(PNEUMONIA) for each image, using the model's metadata (input size and temperature): the numbers
 * the stored threshold applies to.
 */
export async function scorePixels(
  model: tfl.LayersModel,
  metadata: ModelMetadata,
  pixels: Uint8Array,
  options: { batchSize?: number; onProgress?: ProgressCallback } = {},
): Promise<Float32Array> {
  const raw = await predictRawProbabilities(model, pixels, {
    ...options,
    imageSize: metadata.preprocessing.imageSize,
  });
  return raw.map((p) => calibrate(p, metadata.calibration));
}
