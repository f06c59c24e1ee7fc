/**
 * Training batches from packed pixels: images are gathered by index into one reusable byte buffer, with the seed
 * of their augmentation; the trainer (src/engine/parallel/trainer.ts) augments them and turns them into tensors,
 * in this thread or in its replicas (each augmenting its own share).
 */
import type { RawBatch } from '../engine/parallel/trainer.ts';

/** A labelled set of images at one size, as training sees it. */
export interface PixelSet {
  /** imageSize² grey bytes per image, back to back. */
  pixels: Uint8Array;
  /** 0 = NORMAL, 1 = PNEUMONIA, one per image. */
  labels: Uint8Array;
}

/** Weights that make both classes count equally in the loss: n / (2 n_class), so their mean over the set is 1. */
export function balancedClassWeights(labels: Uint8Array): [number, number] {
  let positives = 0;
  for (const y of labels) positives += y;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `training needs images of both classes; got ${negatives} NORMAL and ${positives} PNEUMONIA`,
    );
  }
  return [labels.length / (2 * negatives), labels.length / (2 * positives)];
}

/** One training batch: the trainer's input plus the labels as bytes (for training metrics). */
export interface TrainingBatch extends RawBatch {
  /** 0 = NORMAL, 1 = PNEUMONIA, one per image. */
  labels: Uint8Array;
  /** Per-sample loss weights (the class weights). */
  weights: Float32Array;
}

/** Reusable buffers for building batches of up to `batchSize` images. */
export class BatchBuilder {
  private readonly bytes: Uint8Array;
  private readonly area: number;

  constructor(
    private readonly set: PixelSet,
    imageSize: number,
    batchSize: number,
    private readonly classWeights: [number, number],
  ) {
    this.area = imageSize * imageSize;
    this.bytes = new Uint8Array(batchSize * this.area);
  }

  /**
   * Builds the batch of images `indices`, to be augmented with `seed`. Its pixels live in this builder's buffer:
   * hand the batch to the trainer (which copies it) before building the next one.
   */
  build(indices: ArrayLike<number>, seed: number): TrainingBatch {
    const n = indices.length;
    const labels = new Uint8Array(n);
    const weights = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[k];
      this.bytes.set(this.set.pixels.subarray(i * this.area, (i + 1) * this.area), k * this.area);
      labels[k] = this.set.labels[i];
      weights[k] = this.classWeights[labels[k]];
    }
    return { pixels: this.bytes.subarray(0, n * this.area), labels, weights, augmentSeed: seed };
  }
}
