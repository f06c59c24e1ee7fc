/**
 * Model throughput on the current backend: images per second for inference and for training (forward, backward
 * and an Adam step on weighted binary cross-entropy), after warm-up, on fixed random data. Training goes through
 * the same trainer as `cxr train` (src/engine/parallel/trainer.ts): in this thread, or on `replicas` data-parallel
 * replicas. The protocol follows ../shared/bench/torch_reference_cnn.py (batch 32, untimed warm-up, a few timed
 * repetitions) so the two are comparable as a ratio measured in the same session.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createTrainer, type RawBatch } from '../engine/parallel/trainer.ts';
import { PROBABILITY_EPS } from '../metrics/calibration.ts';
import { createModel } from '../model/architectures.ts';

export interface ThroughputOptions {
  /** A name from src/model/architectures.ts. */
  architecture: string;
  imageSize: number;
  batchSize: number;
  /** Timed repetitions of each of predict and train. */
  steps: number;
  /** Untimed repetitions first (the first train step also creates Adam's slots). */
  warmupSteps: number;
  /** Training replicas (1: this thread). */
  replicas?: number;
}

export interface ThroughputResult {
  architecture: string;
  imageSize: number;
  batchSize: number;
  predictImagesPerSec: number;
  trainImagesPerSec: number;
}

/** Runs `fn` `steps` times after `warmup` untimed runs; returns images per second. */
async function imagesPerSecond(
  fn: () => unknown,
  options: { steps: number; warmup: number; batchSize: number },
): Promise<number> {
  for (let i = 0; i < options.warmup; i++) await fn();
  const started = performance.now();
  for (let i = 0; i < options.steps; i++) await fn();
  const seconds = (performance.now() - started) / 1000;
  return (options.steps * options.batchSize) / seconds;
}

/** A fixed random batch: grey values and balanced labels, weight 1. */
export function randomBatch(batchSize: number, imageSize: number): RawBatch {
  const pixels = new Uint8Array(batchSize * imageSize * imageSize);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.imul(i + 1, 2654435761) >>> 24) & 255;
  return {
    pixels,
    labels: Array.from({ length: batchSize }, (_, i) => i % 2),
    weights: new Float32Array(batchSize).fill(1),
  };
}

/** Measures one architecture; leaves no tensors behind. */
export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { architecture, imageSize, batchSize } = options;
  if (options.steps < 1) throw new Error(`benchmark steps must be >= 1, got ${options.steps}`);
  const model = createModel(architecture, { imageSize });
  const optimizer = tf.train.adam(1e-3);
  const batch = randomBatch(batchSize, imageSize);
  const x = tf.tensor4d(Float32Array.from(batch.pixels), [batchSize, imageSize, imageSize, 1]);
  try {
    const timing = { steps: options.steps, warmup: options.warmupSteps, batchSize };
    const predictImagesPerSec = await imagesPerSecond(() => {
      const p = model.predict(x) as tf.Tensor;
      p.dataSync();
      p.dispose();
    }, timing);
    const trainer = await createTrainer({
      model,
      optimizer,
      replicas: options.replicas ?? 1,
      imageSize,
      batchSize,
      epsilon: PROBABILITY_EPS,
    });
    let trainImagesPerSec: number;
    try {
      trainImagesPerSec = await imagesPerSecond(() => trainer.step(batch, 1e-3, 1), timing);
    } finally {
      await trainer.dispose();
    }
    return { architecture, imageSize, batchSize, predictImagesPerSec, trainImagesPerSec };
  } finally {
    x.dispose();
    optimizer.dispose();
    model.dispose();
  }
}
