/**
 * A faster training path for tfjs-layers' BatchNormalization, installed by `initEngine`.
 *
 * In training mode the stock layer computes `moments` and `batchNorm` from ~10 elementary ops, and TF.js
 * differentiates each of them: about 50 full-size tensor passes per BN layer per step, which made batch norm
 * cost more than the convolutions of the default model on wasm. Here the same computation is one custom op
 * whose gradient is the closed form
 *   dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),  dgamma = sum(dy * xhat),  dbeta = sum(dy)
 * (about 10 passes for forward and backward together). Outputs, moving-statistics updates and gradients match
 * the stock layer (test/engine/batch-norm.test.ts); inference and unusual configurations (no centre/scale, a
 * non-last axis) keep the stock code path. Saved models are unaffected: only `call` changes, not the layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_GRAD, BATCH_NORM_TRAIN } from './kernels/batch-norm-train.ts';

/** The parts of tfjs-layers' BatchNormalization that the training path reads and updates. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable | null;
  beta: tfl.LayerVariable | null;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

type LayerCall = (
  this: BatchNormLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor;

interface Statistics {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** The batch-norm op's output and the batch statistics (which the caller disposes). */
interface BatchNormResult {
  y: tf.Tensor;
  stats: Statistics;
}

/**
 * Normalises x over all axes but the last, scales and shifts, with the closed-form gradient. On wasm, forward
 * and backward are the SIMD kernels of kernels/batch-norm-train.ts (3 and 2 passes over the data, statistics
 * over all replicas in data-parallel training); elsewhere the same maths as TF.js ops.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormResult {
  const fused = tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
  return fused ? fusedBatchNorm(x, gamma, beta, epsilon) : opsBatchNorm(x, gamma, beta, epsilon);
}

function fusedBatchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormResult {
  const holder: { stats?: Statistics } = {};
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, variance, rstd] = tf.engine().runKernel(
      BATCH_NORM_TRAIN,
      { x: xIn, gamma: g, beta: b },
      {
        epsilon,
      },
    ) as tf.Tensor[];
    holder.stats = { mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D };
    save([xIn, mean, rstd, g]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, m, r, gm] = saved;
      return tf
        .engine()
        .runKernel(BATCH_NORM_GRAD, { dy, x: xs, mean: m, gamma: gm, rstd: r }) as tf.Tensor[];
    };
    return { value: y, gradFunc };
  });
  const y = op(x, gamma, beta);
  if (!holder.stats) throw new Error('batch norm forward pass produced no statistics');
  return { y, stats: holder.stats };
}

function opsBatchNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormResult {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.shape.length - 1];
  const holder: { stats?: Statistics } = {};
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.mean(xIn, axes) as tf.Tensor1D;
    const centered = tf.sub(xIn, mean);
    const variance = tf.mean(tf.square(centered), axes) as tf.Tensor1D;
    const rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
    const y = tf.add(tf.mul(centered, tf.mul(rstd, g)), b);
    holder.stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save([centered, rstd, g]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [c, r, gm] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      const dBeta = tf.sum(dy, axes) as tf.Tensor1D;
      // sum(dy * xhat) = rstd * sum(dy * centered): one full-size product instead of materialising xhat.
      const dGamma = tf.mul(tf.sum(tf.mul(dy, c), axes), r) as tf.Tensor1D;
      const k = tf.mul(gm, r);
      const meanDy = tf.div(dBeta, count);
      const meanDyXhat = tf.div(dGamma, count);
      // dx = k * dy - (k * rstd * mean(dy * xhat)) * centered - k * mean(dy)
      const dx = tf.sub(
        tf.sub(tf.mul(dy, k), tf.mul(c, tf.mul(tf.mul(k, r), meanDyXhat))),
        tf.mul(k, meanDy),
      );
      return [dx, dGamma, dBeta];
    };
    return { value: y, gradFunc };
  });
  const y = op(x, gamma, beta);
  if (!holder.stats) throw new Error('batch norm forward pass produced no statistics');
  return { y, stats: holder.stats };
}

/** Keras's moving average: moving <- moving - (moving - value) * (1 - momentum). */
function updateMovingAverage(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const current = variable.read();
    variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum)));
  });
}

function usesFastPath(layer: BatchNormLayer, input: tf.Tensor): boolean {
  const lastAxis = layer.axis === -1 || layer.axis === input.rank - 1;
  return (
    lastAxis && input.rank >= 2 && layer.center && layer.scale && layer.gamma !== null && layer.beta !== null
  );
}

let stockCall: LayerCall | null = null;

/** The prototype shared by every BatchNormalization layer instance. */
function batchNormPrototype(): { call: LayerCall } {
  return Object.getPrototypeOf(tfl.layers.batchNormalization({})) as { call: LayerCall };
}

/** Routes BatchNormalization's training-mode call through `batchNormTraining`. Idempotent. */
export function installFastBatchNorm(): void {
  if (stockCall !== null) return;
  const proto = batchNormPrototype();
  const original = proto.call;
  stockCall = original;
  proto.call = function fastCall(this: BatchNormLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs?.training !== true || !usesFastPath(this, input)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const gamma = (this.gamma as tfl.LayerVariable).read() as tf.Tensor1D;
      const beta = (this.beta as tfl.LayerVariable).read() as tf.Tensor1D;
      const { y, stats } = batchNormTraining(input, gamma, beta, this.epsilon);
      try {
        updateMovingAverage(this.movingMean, stats.mean, this.momentum);
        updateMovingAverage(this.movingVariance, stats.variance, this.momentum);
      } finally {
        tf.dispose([stats.mean, stats.variance]);
      }
      return y;
    });
  };
}

/** Puts the stock training path back (tests compare the two). */
export function uninstallFastBatchNorm(): void {
  if (stockCall === null) return;
  batchNormPrototype().call = stockCall;
  stockCall = null;
}
