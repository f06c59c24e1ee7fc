/**
 * Conv2DBackpropInput for the wasm backend (the stock kernel is a scalar loop): convolution.ts's input gradient
 * (Winograd for 3x3 stride-1 layers; a transposed direct convolution that skips the zeros of a strided one
 * otherwise; a dedicated loop for one input channel).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { geometry } from './conv2d.ts';
import { convolveInputGradient } from './convolution.ts';

interface Conv2DBackpropInputArgs {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}

function conv2dBackpropInput({ inputs, backend, attrs }: Conv2DBackpropInputArgs): TensorInfo {
  const info = geometry(attrs.inputShape, inputs.filter.shape, { ...attrs, dilations: 1 });
  if (!info) throw new Error(`Conv2DBackpropInput on wasm supports only NHWC data, got ${attrs.dataFormat}`);
  return convolveInputGradient(backend, inputs.dy, inputs.filter, info);
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
