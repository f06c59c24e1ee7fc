/**
 * Model throughput on the current backend: images per second for inference and for training (forward, backward
 * and an Adam step on binary cross-entropy), after warm-up, on fixed random data. The protocol follows
 * ../shared/bench/torch_reference_cnn.py (batch 32, untimed warm-up, a few timed repetitions) so the two are
 * comparable as a ratio measured in the same session.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
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
}

export interface ThroughputResult {
  architecture: string;
  imageSize: number;
  batchSize: number;
  predictImagesPerSec: number;
  trainImagesPerSec: number;
}

/** Runs `fn` `steps` times after `warmup` untimed runs; returns images per second. */
function imagesPerSecond(
  fn: () => void,
  options: { steps: number; warmup: number; batchSize: number },
): number {
  for (let i = 0; i < options.warmup; i++) fn();
  const started = performance.now();
  for (let i = 0; i < options.steps; i++) fn();
  const seconds = (performance.now() - started) / 1000;
  return (options.steps * options.batchSize) / seconds;
}

/** Measures one architecture; leaves no tensors behind. */
export function measureThroughput(options: ThroughputOptions): ThroughputResult {
  const { architecture, imageSize, batchSize } = options;
  if (options.steps < 1) throw new Error(`benchmark steps must be >= 1, got ${options.steps}`);
  const model = createModel(architecture, { imageSize });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([batchSize, imageSize, imageSize, 1], 0, 255, 'float32', 1);
  const y = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([batchSize, 1], 0, 1, 'float32', 2), 0.5), 'float32'),
  );
  try {
    const timing = { steps: options.steps, warmup: options.warmupSteps, batchSize };
    const predictImagesPerSec = imagesPerSecond(() => {
      const p = model.predict(x) as tf.Tensor;
      p.dataSync();
      p.dispose();
    }, timing);
    const trainImagesPerSec = imagesPerSecond(() => {
      const loss = optimizer.minimize(
        () =>
          tf.mean(
            tfl.metrics.binaryCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor),
          ) as tf.Scalar,
        true,
      );
      loss?.dataSync();
      loss?.dispose();
    }, timing);
    return { architecture, imageSize, batchSize, predictImagesPerSec, trainImagesPerSec };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}
