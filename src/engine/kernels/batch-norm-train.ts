/**
 * Batch-norm training kernels for the wasm backend, used by ../batch-norm.ts: the forward pass (batch moments
 * and normalised output) and its backward pass, each a few SIMD passes over the data (../simd/kernels.c) instead
 * of a dozen elementwise TF.js ops. Channels (the last axis) must be a multiple of 4; batch-norm.ts uses its
 * op-based formulation otherwise, and on other backends.
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

/** Inputs x, gamma, beta; attr epsilon; outputs y, mean, variance, rstd = 1 / sqrt(variance + epsilon). */
export const BATCH_NORM_TRAIN = 'PneumoscopeBatchNormTrain';
/** Inputs dy, x, mean, gamma, rstd (from BATCH_NORM_TRAIN); outputs dx, dgamma, dbeta. */
export const BATCH_NORM_GRAD = 'PneumoscopeBatchNormGrad';

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

/** [rows, channels] of an NHWC tensor. */
function rowsAndChannels(x: TensorInfo): [number, number] {
  const channels = x.shape[x.shape.length - 1];
  if (channels % 4 !== 0) throw new Error(`batch-norm kernels need channels % 4 == 0, got ${channels}`);
  return [util.sizeFromShape(x.shape) / channels, channels];
}

/** Runs `fn` with a scratch buffer of 4 * channels float64 values on the heap. */
function withScratch<T>(backend: BackendWasm, channels: number, fn: (address: number) => T): T {
  const scratch = backend.makeOutput([8 * channels], 'float32');
  try {
    return fn(heapAddress(backend, scratch));
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

function batchNormTrain({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = inputs;
  const [rows, channels] = rowsAndChannels(x);
  const y = backend.makeOutput(x.shape, 'float32');
  const [mean, variance, rstd] = [0, 1, 2].map(() => backend.makeOutput([channels], 'float32'));
  const at = (t: TensorInfo) => heapAddress(backend, t);
  withScratch(backend, channels, (scratch) =>
    simdKernels(backend).batchNormForward(
      at(x),
      at(gamma),
      at(beta),
      at(y),
      at(mean),
      at(variance),
      at(rstd),
      scratch,
      rows,
      channels,
      attrs.epsilon as number,
    ),
  );
  return [y, mean, variance, rstd];
}

function batchNormGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const { dy, x, mean, gamma, rstd } = inputs;
  const [rows, channels] = rowsAndChannels(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgamma = backend.makeOutput([channels], 'float32');
  const dbeta = backend.makeOutput([channels], 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  withScratch(backend, channels, (scratch) =>
    simdKernels(backend).batchNormBackward(
      at(dy),
      at(x),
      at(mean),
      at(gamma),
      at(rstd),
      at(dx),
      at(dgamma),
      at(dbeta),
      scratch,
      rows,
      channels,
    ),
  );
  return [dx, dgamma, dbeta];
}

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: 'wasm',
  kernelFunc: batchNormTrain as unknown as KernelFunc,
};

export const batchNormGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormGrad as unknown as KernelFunc,
};
