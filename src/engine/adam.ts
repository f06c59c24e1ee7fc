/**
 * A faster `applyGradients` for tfjs-core's AdamOptimizer, installed by `initEngine`: where the backend has the
 * ADAM_UPDATE kernel (wasm), each variable is updated by one kernel instead of about a dozen elementwise ops
 * (each a kernel call with its JavaScript around it: on the default model, some 400 calls per step). The
 * arithmetic is the stock optimiser's, operation for operation, so results, slots, names and checkpoints are the
 * same (test/engine/adam.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamUpdateAttrs } from './kernels/adam.ts';

interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

type ApplyGradients = (
  this: tf.AdamOptimizer,
  grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
) => void;

let stockApply: ApplyGradients | null = null;

function fusedApply(
  this: tf.AdamOptimizer,
  grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
): void {
  const self = this as unknown as AdamFields;
  const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
  tf.tidy(() => {
    const scalars: AdamUpdateAttrs = {
      beta1: self.beta1,
      beta2: self.beta2,
      oneMinusAccBeta1: Math.fround(1 - self.accBeta1.dataSync()[0]),
      oneMinusAccBeta2: Math.fround(1 - self.accBeta2.dataSync()[0]),
      epsilon: self.epsilon,
      learningRate: self.learningRate,
    };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (self.accumulatedFirstMoment[i] == null) {
        self.accumulatedFirstMoment[i] = {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      if (self.accumulatedSecondMoment[i] == null) {
        self.accumulatedSecondMoment[i] = {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      const gradient = Array.isArray(grads) ? grads[i].tensor : grads[name];
      if (gradient == null) return;
      const m = self.accumulatedFirstMoment[i].variable;
      const v = self.accumulatedSecondMoment[i].variable;
      const [newValue, newM, newV] = tf
        .engine()
        .runKernel(
          ADAM_UPDATE,
          { value, m, v, gradient },
          scalars as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
    });
    self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
    self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
  });
  self.incrementIterations();
}

/** Routes AdamOptimizer.applyGradients through ADAM_UPDATE where the backend has it. Idempotent. */
export function installFastAdam(): void {
  if (stockApply !== null) return;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: ApplyGradients };
  const original = proto.applyGradients;
  stockApply = original;
  proto.applyGradients = function applyGradients(grads) {
    const kernel = tf.getKernel(ADAM_UPDATE, tf.getBackend());
    return (kernel ? fusedApply : original).call(this, grads);
  };
}

/** Puts the stock update back (tests compare the two). */
export function uninstallFastAdam(): void {
  if (stockApply === null) return;
  (tf.AdamOptimizer.prototype as unknown as { applyGradients: ApplyGradients }).applyGradients = stockApply;
  stockApply = null;
}
