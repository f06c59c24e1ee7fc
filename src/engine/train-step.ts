/**
 * One optimiser step of a model with a sigmoid output: forward in training mode, per-sample weighted binary
 * cross-entropy plus the model's regularisation losses, gradients, update. The same function runs in the main
 * thread (one replica) and in each worker of data-parallel training (../parallel/), where it
 * - scales its loss by its share of the batch, so that the replicas' gradients add up to the batch's;
 * - runs inside a collective, so batch norm sees the whole batch's statistics (kernels/batch-norm-train.ts);
 * - sums the gradients across replicas before the update, which every replica then applies identically.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { withSeededMathRandom } from '../core/random.ts';
import { activeCollective } from './parallel/collective.ts';

/** Mean of w * BCE(y, p) with p clipped to [epsilon, 1 - epsilon] (as Keras does for a sigmoid output). */
export function weightedBinaryCrossEntropy(
  y: tf.Tensor,
  p: tf.Tensor,
  weights: tf.Tensor,
  epsilon: number,
): tf.Scalar {
  return tf.tidy(() => {
    const clipped = tf.clipByValue(p, epsilon, 1 - epsilon);
    const perSample = tf.neg(
      tf.add(tf.mul(y, tf.log(clipped)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, clipped)))),
    );
    return tf.mean(tf.mul(perSample, weights)) as tf.Scalar;
  });
}

/** The tensors of one batch (or of a replica's part of it). */
export interface StepTensors {
  /** [n, S, S, 1] model input. */
  x: tf.Tensor4D;
  /** Labels, [n, 1]. */
  y: tf.Tensor2D;
  /** Per-sample loss weights, [n, 1]. */
  weights: tf.Tensor2D;
}

export interface StepOptions {
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  batch: StepTensors;
  learningRate: number;
  /** Feeds every unseeded random op inside (dropout masks), so the step is reproducible. */
  seed: number;
  /** Clipping of the predicted probability inside the loss. */
  epsilon: number;
  /** This replica's fraction of the batch's images (1 without data parallelism). */
  share?: number;
}

export interface StepResult {
  /** Data loss of the images given (without the regularisation term, not scaled by the share). */
  loss: number;
  /** The model's outputs for the images given (training mode), for running training metrics. */
  probabilities: Float32Array;
}

/** Sums gradients across replicas (in place of each tensor, same order everywhere); a no-op alone. */
function sumAcrossReplicas(grads: tf.NamedTensorMap, names: string[]): tf.NamedTensorMap {
  const collective = activeCollective();
  if (!collective) return grads;
  const sizes = names.map((n) => grads[n].size);
  const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  names.forEach((name, i) => {
    flat.set(grads[name].dataSync() as Float32Array, offset);
    offset += sizes[i];
  });
  collective.sumAll(flat);
  const summed: tf.NamedTensorMap = {};
  offset = 0;
  names.forEach((name, i) => {
    summed[name] = tf.tensor(flat.subarray(offset, offset + sizes[i]), grads[name].shape);
    offset += sizes[i];
  });
  return summed;
}

/** Runs one step; batch-norm moving statistics are updated by the forward pass itself. */
export function trainStep(options: StepOptions): StepResult {
  const { model, optimizer, batch, epsilon } = options;
  const share = options.share ?? 1;
  (optimizer as unknown as { learningRate: number }).learningRate = options.learningRate;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let probabilities: tf.Tensor | null = null;
  let dataLoss: tf.Scalar | null = null;
  try {
    withSeededMathRandom(options.seed, () => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const p = model.apply(batch.x, { training: true }) as tf.Tensor;
          probabilities = tf.keep(p);
          const loss = weightedBinaryCrossEntropy(batch.y, p, batch.weights, epsilon);
          dataLoss = tf.keep(loss.clone());
          const penalties = model.calculateLosses();
          const total = penalties.length > 0 ? (tf.addN([loss, ...penalties]) as tf.Scalar) : loss;
          return share === 1 ? total : tf.mul(total, share);
        }, variables);
        const names = variables.map((v) => v.name);
        const summed = sumAcrossReplicas(grads, names);
        optimizer.applyGradients(names.map((name) => ({ name, tensor: summed[name] })));
      });
    });
    return {
      loss: (dataLoss as tf.Scalar | null)?.dataSync()[0] ?? Number.NaN,
      probabilities: (probabilities as tf.Tensor | null)?.dataSync().slice() as Float32Array,
    };
  } finally {
    (probabilities as tf.Tensor | null)?.dispose();
    (dataLoss as tf.Scalar | null)?.dispose();
  }
}

/**
 * The step of a replica that holds none of the batch's images (batches smaller than the replica count): it adds
 * zero gradients to the others' sum and applies the same update, so that it stays identical to them.
 */
export function idleStep(options: Pick<StepOptions, 'model' | 'optimizer' | 'learningRate'>): void {
  const { model, optimizer } = options;
  (optimizer as unknown as { learningRate: number }).learningRate = options.learningRate;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  tf.tidy(() => {
    const names = variables.map((v) => v.name);
    const zeros: tf.NamedTensorMap = {};
    for (const v of variables) zeros[v.name] = tf.zerosLike(v);
    const summed = sumAcrossReplicas(zeros, names);
    optimizer.applyGradients(names.map((name) => ({ name, tensor: summed[name] })));
  });
}
