/**
 * Conv2DBackpropInput for the wasm backend (the stock kernel is a scalar loop): the direct SIMD transposed
 * convolution of ./conv2d.ts, which skips the zeros of a strided convolution instead of convolving a
 * stride-dilated gradient. One input channel at stride 1 (the first layer on grey images, whose input gradient
 * TF.js's fused-conv gradient computes even though nothing uses it) has its own SIMD loop, which does not pad
 * the single channel to a vector.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';
import { directConv2dInputGradient, geometry } from './conv2d.ts';

interface Conv2DBackpropInputArgs {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}

function conv2dBackpropInput({ inputs, backend, attrs }: Conv2DBackpropInputArgs): TensorInfo {
  const { dy, filter } = inputs;
  const info = geometry(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
  if (!info) throw new Error(`Conv2DBackpropInput on wasm supports only NHWC data, got ${attrs.dataFormat}`);
  if (
    info.inChannels === 1 &&
    info.outChannels % 4 === 0 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1
  ) {
    return singleChannelInputGradient(backend, dy, filter, info);
  }
  return directConv2dInputGradient(backend, dy, filter, info);
}

function singleChannelInputGradient(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, 1], 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  simdKernels(backend).inputGradSingleChannel(
    at(dy),
    at(filter),
    at(dx),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return dx;
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
