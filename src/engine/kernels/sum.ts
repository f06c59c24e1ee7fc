/**
 * Sum on the wasm backend: reductions over leading axes (bias and batch-norm gradients) take the one-pass
 * average pooling of leading-reduction.ts (times the count); every other reduction goes to the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  Sum,
  type SumAttrs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { leadingAxesReduced, meanOverLeading } from './leading-reduction.ts';

interface SumArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: SumAttrs;
}

/** Builds the Sum kernel around the stock one. */
export function makeSumConfig(stockConfig: KernelConfig): KernelConfig {
  const sum = (args: SumArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const reduced = leadingAxesReduced(inputs.x, attrs.axis);
    if (reduced === 0)
      return stockConfig.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const count = util.sizeFromShape(inputs.x.shape.slice(0, reduced));
    return meanOverLeading({ backend, x: inputs.x, reduced, keepDims: attrs.keepDims, scale: count });
  };
  return {
    kernelName: Sum,
    backendName: 'wasm',
    // The stock set-up binds the wasm function the stock kernel calls.
    setupFunc: stockConfig.setupFunc,
    kernelFunc: sum as unknown as KernelFunc,
  };
}
