/** One optimiser step: forward in training mode, class-weighted binary cross-entropy plus regularisation, update. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { withSeededMathRandom } from '../core/random.ts';
import { PROBABILITY_EPS } from '../metrics/calibration.ts';
import type { TrainingBatch } from './batches.ts';

/** Mean of w * BCE(y, p) with p clipped away from 0 and 1 (as Keras does for a sigmoid output). */
export function weightedBinaryCrossEntropy(y: tf.Tensor, p: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const clipped = tf.clipByValue(p, PROBABILITY_EPS, 1 - PROBABILITY_EPS);
    const perSample = tf.neg(
      tf.add(tf.mul(y, tf.log(clipped)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, clipped)))),
    );
    return tf.mean(tf.mul(perSample, weights)) as tf.Scalar;
  });
}

export interface StepResult {
  /** Data loss of the batch (without the regularisation term). */
  loss: number;
  /** The model's outputs for the batch (training mode), for running training metrics. */
  probabilities: Float32Array;
}

/**
 * Runs one step. `seed` feeds every unseeded random op inside (dropout masks), so the step is reproducible.
 * Batch-norm moving statistics are updated by the forward pass itself.
 */
export function trainStep(options: {
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  batch: TrainingBatch;
  learningRate: number;
  seed: number;
}): StepResult {
  const { model, optimizer, batch } = options;
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
          const loss = weightedBinaryCrossEntropy(batch.y, p, batch.weights);
          dataLoss = tf.keep(loss.clone());
          const penalties = model.calculateLosses();
          return penalties.length > 0 ? (tf.addN([loss, ...penalties]) as tf.Scalar) : loss;
        }, variables);
        optimizer.applyGradients(grads);
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
