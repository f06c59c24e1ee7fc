/**
 * Registers Pneumoscope's kernels on the wasm backend. Each kernel lives in its own file in this folder and is
 * tested numerically against the cpu backend (test/engine/kernels.test.ts).
 */
import {
  Add,
  BatchMatMul,
  Conv2D,
  FusedBatchNorm,
  FusedConv2D,
  getKernel,
  Identity,
  type KernelConfig,
  Mean,
  registerKernel,
  Sum,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { adamUpdateConfig } from './adam.ts';
import { makeAddConfig } from './add.ts';
import { makeBatchMatMulConfig } from './batch-mat-mul.ts';
import { makeFusedBatchNormConfig } from './batch-norm-inference.ts';
import { batchNormGradConfig, batchNormTrainConfig } from './batch-norm-train.ts';
import { makeConv2dConfig, makeConv2dTrainConfig, makeFusedConv2dConfig } from './conv2d.ts';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { makeIdentityConfig } from './identity.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { makeMeanConfig } from './mean.ts';
import { reluGradConfig } from './relu-grad.ts';
import { makeSumConfig } from './sum.ts';
import { tileConfig } from './tile.ts';

/** The stock wasm kernel `name`, which a wrapping kernel delegates to. */
function stockKernel(name: string): KernelConfig {
  const config = getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no "${name}" kernel to wrap`);
  return config;
}

/**
 * The kernels registered on wasm: gradients the stock backend lacks (Conv2DBackpropFilter) or runs as scalar
 * loops (Conv2DBackpropInput, MaxPoolGrad, Tile); wrappers that route stock cases to faster paths (Conv2D and
 * FusedConv2D to the direct SIMD convolution, Sum and Mean over leading axes, BatchMatMul with transposed
 * operands, Add of a per-channel bias) or avoid copies (Identity); and the batch-norm training kernels that
 * ../batch-norm.ts uses, and the one-pass ReLU gradient of relu-grad.ts.
 */
function pneumoscopeKernels(): KernelConfig[] {
  return [
    conv2dBackpropFilterConfig,
    conv2dBackpropInputConfig,
    maxPoolGradConfig,
    tileConfig,
    batchNormTrainConfig,
    batchNormGradConfig,
    reluGradConfig,
    makeSumConfig(stockKernel(Sum)),
    makeMeanConfig(stockKernel(Mean)),
    makeIdentityConfig(stockKernel(Identity)),
    makeAddConfig(stockKernel(Add)),
    makeBatchMatMulConfig(stockKernel(BatchMatMul)),
    makeConv2dConfig(stockKernel(Conv2D)),
    makeFusedConv2dConfig(stockKernel(FusedConv2D)),
    makeConv2dTrainConfig(stockKernel(FusedConv2D)),
    adamUpdateConfig,
    makeFusedBatchNormConfig(stockKernel(FusedBatchNorm)),
  ];
}

let registered = false;

/** Replaces (or adds) the kernels above on the wasm backend; call before the backend is first used. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of pneumoscopeKernels()) {
    // Unregistering first avoids TF.js's "already registered" warning for kernels the backend ships.
    if (getKernel(config.kernelName, config.backendName)) {
      unregisterKernel(config.kernelName, config.backendName);
    }
    registerKernel(config);
  }
}
