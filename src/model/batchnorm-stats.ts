/**
 * Recomputing batch-norm statistics over a set of images: the moving mean and variance of every batch-norm layer
 * become the plain average over fixed batches of those images.
 *
 * Training uses it before each validation ("precise BN", over un-augmented training batches): the running
 * averages kept during training trail the weights and, with a short momentum, rest on the last few batches only,
 * so the inference-mode model that is validated, selected and saved can disagree with the training-mode one.
 * `cxr calibrate --adapt-bn` uses it on a site's own images (AdaBN, Li et al. 2016): the statistics then describe
 * that site's images, which moves the model's outputs towards them without any label.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed, seededPermutation, withSeededMathRandom } from '../core/random.ts';
import { batchTensor } from './infer.ts';

/** Batches averaged per recomputation during training (of `batchSize` images each). */
export const PRECISE_BN_BATCHES = 20;

/** The mutable part of tfjs-layers' BatchNormalization that this module drives. */
interface MomentumLayer {
  momentum: number;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

function batchNormLayers(model: tfl.LayersModel): (tfl.layers.Layer & MomentumLayer)[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as (tfl.layers.Layer &
    MomentumLayer)[];
}

/**
 * Replaces the moving statistics with averages over `batches` batches of `pixels` (a seeded, fixed choice of
 * images; all of them when there are fewer). Momentum k/(k+1) at batch k turns each layer's moving-average
 * update into a running mean. The statistics start from zero, where the first update (momentum 0) stores the
 * batch's exactly: the result is a function of the weights and the images alone, whatever statistics training
 * left behind (those differ between one thread and data-parallel replicas, and between an uninterrupted and a
 * resumed run). Returns false (and does nothing) for models without batch norm.
 */
export function recomputeBatchNormStatistics(options: {
  model: tfl.LayersModel;
  /** imageSize² grey bytes per image, back to back. */
  pixels: Uint8Array;
  imageSize: number;
  batchSize: number;
  seed: number;
  /** Default PRECISE_BN_BATCHES. */
  batches?: number;
}): boolean {
  const { model, pixels, imageSize, batchSize } = options;
  const layers = batchNormLayers(model);
  if (layers.length === 0) return false;
  const area = imageSize * imageSize;
  const count = Math.floor(pixels.length / area);
  const images = Math.min(count, (options.batches ?? PRECISE_BN_BATCHES) * batchSize);
  const order = seededPermutation(count, deriveSeed(options.seed, 'precise-bn'));
  const chosen = new Uint8Array(images * area);
  for (let k = 0; k < images; k++)
    chosen.set(pixels.subarray(order[k] * area, (order[k] + 1) * area), k * area);
  const saved = layers.map((l) => l.momentum);
  for (const layer of layers) {
    for (const variable of [layer.movingMean, layer.movingVariance]) {
      tf.tidy(() => {
        variable.write(tf.zerosLike(variable.read()));
      });
    }
  }
  try {
    for (let b = 0, start = 0; start < images; b++, start += batchSize) {
      for (const layer of layers) layer.momentum = b / (b + 1);
      const end = Math.min(images, start + batchSize);
      // Training mode computes (and stores) batch statistics; dropout draws are seeded to stay reproducible.
      withSeededMathRandom(deriveSeed(options.seed, 'precise-bn', b), () =>
        tf.tidy(() => {
          model.apply(batchTensor(chosen, imageSize, start, end), { training: true });
        }),
      );
    }
  } finally {
    layers.forEach((l, i) => {
      l.momentum = saved[i];
    });
  }
  return true;
}
