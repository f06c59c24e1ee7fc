/**
 * Adam's update of one variable as one SIMD pass on wasm (../simd/kernels.c, adam_update), used by ../adam.ts:
 * inputs value, m, v, gradient; outputs the new value, m and v. Same float32 operations as tfjs-core's
 * AdamOptimizer, so the same results, from one kernel instead of about a dozen per variable.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';

export const ADAM_UPDATE = 'PneumoscopeAdamUpdate';

/** The scalars of one step (float32 values, as tfjs-core's Adam makes them). */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** 1 - beta1^t and 1 - beta2^t, from the optimiser's running products. */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  learningRate: number;
}

interface AdamArgs {
  inputs: { value: TensorInfo; m: TensorInfo; v: TensorInfo; gradient: TensorInfo };
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

function adamUpdate({ inputs, backend, attrs }: AdamArgs): TensorInfo[] {
  const { value, m, v, gradient } = inputs;
  const a = attrs as unknown as AdamUpdateAttrs;
  const outputs = [0, 1, 2].map(() => backend.makeOutput(value.shape, 'float32'));
  const at = (t: TensorInfo) => heapAddress(backend, t);
  simdKernels(backend).adamUpdate(
    at(value),
    at(m),
    at(v),
    at(gradient),
    ...outputs.map(at),
    util.sizeFromShape(value.shape),
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.oneMinusAccBeta1,
    a.oneMinusAccBeta2,
    a.epsilon,
    -a.learningRate,
  );
  return outputs;
}

export const adamUpdateConfig: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamUpdate as unknown as KernelFunc,
};
