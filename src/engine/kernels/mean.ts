/**
 * Mean on the wasm backend: means over leading axes (batch-norm moments, global average pooling) take the
 * one-pass average pooling of leading-reduction.ts; every other reduction goes to the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  Mean,
  type MeanAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { leadingAxesReduced, meanOverLeading } from './leading-reduction.ts';

interface MeanArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: MeanAttrs;
}

/** Builds the Mean kernel around the stock one. */
export function makeMeanConfig(stockConfig: KernelConfig): KernelConfig {
  const mean = (args: MeanArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const reduced = leadingAxesReduced(inputs.x, attrs.axis);
    if (reduced === 0)
      return stockConfig.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    return meanOverLeading({ backend, x: inputs.x, reduced, keepDims: attrs.keepDims, scale: 1 });
  };
  return {
    kernelName: Mean,
    backendName: 'wasm',
    // The stock set-up binds the wasm function the stock kernel calls.
    setupFunc: stockConfig.setupFunc,
    kernelFunc: mean as unknown as KernelFunc,
  };
}
