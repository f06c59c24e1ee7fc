/**
 * Conv2D, FusedConv2D (bias, ReLU or none) and Conv2DBackpropInput on the direct SIMD convolution of
 * ../simd/kernels.c, for NHWC data without dilation; everything else goes to the stock kernels.
 *
 * On one thread the direct kernels beat XNNPACK's convolution on every layer of the registered models (about
 * 35-38 against 25-30 GFLOP/s, docs/engine.md), handle any channel count at full speed (the filter is packed
 * with its output channels padded to 8), and compute a strided convolution's input gradient without the
 * stride-dilated zeros (XNNPACK's route does 4x the work at stride 2). They run on one thread, so on TF.js's
 * threaded build the forward convolutions stay on XNNPACK, which splits them over its pool.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  FusedConv2D,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';

/** Whether the backend runs XNNPACK on one thread (the direct kernels then win everywhere). */
export function singleThreaded(backend: BackendWasm): boolean {
  const bindings = (backend.wasm as unknown as { tfjs: { getThreadsCount?: () => number } }).tfjs;
  if (process.env.CXR_STOCK_CONV) return false;
  return (bindings.getThreadsCount?.() ?? 1) <= 1;
}

/** The convolution geometry, or null when the direct kernels do not apply (NCHW, dilation). */
export function geometry(
  xShape: number[],
  filterShape: number[],
  attrs: Pick<Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations' | 'dimRoundingMode'>,
): backend_util.Conv2DInfo | null {
  if (backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast') return null;
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return info.dilationHeight === 1 && info.dilationWidth === 1 ? info : null;
}

/** Runs `fn` with a float32 heap buffer of `size` values, freed afterwards. */
function withBuffer<T>(backend: BackendWasm, size: number, fn: (buffer: TensorInfo) => T): T {
  const buffer = backend.makeOutput([size], 'float32');
  try {
    return fn(buffer);
  } finally {
    backend.disposeData(buffer.dataId);
  }
}

const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;

/** y = conv(x, filter) (+ bias) (ReLU). */
export function directConv2d(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  relu: boolean,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const simd = simdKernels(backend);
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const channels8 = roundUp8(outChannels);
  const y = backend.makeOutput(info.outShape, 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  const packedSize = filterHeight * filterWidth * inChannels * channels8;
  withBuffer(backend, packedSize + (bias ? channels8 : 0), (packed) => {
    const filter8 = at(packed);
    simd.packFilter(at(filter), filter8, filterHeight * filterWidth * inChannels, outChannels);
    let bias8 = 0;
    if (bias) {
      bias8 = filter8 + packedSize * 4;
      const values = backend.typedArrayFromHeap(packed) as Float32Array;
      values.fill(0, packedSize);
      values.set(backend.typedArrayFromHeap(bias) as Float32Array, packedSize);
    }
    simd.conv2dForward(
      at(x),
      filter8,
      bias8,
      at(y),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      inChannels,
      info.outHeight,
      info.outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      relu ? 1 : 0,
    );
  });
  return y;
}

/** dx of y = conv(x, filter) for dy. */
export function directConv2dInputGradient(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const simd = simdKernels(backend);
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const dx = backend.makeOutput(info.inShape, 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  const taps = filterHeight * filterWidth;
  withBuffer(backend, taps * outChannels * roundUp8(inChannels), (packed) => {
    simd.packFilterTransposed(at(filter), at(packed), taps, inChannels, outChannels);
    simd.conv2dInputGrad(
      at(dy),
      at(packed),
      at(dx),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      inChannels,
      info.outHeight,
      info.outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
  });
  return dx;
}

type Args<Inputs, Attrs> = { inputs: Inputs; backend: BackendWasm; attrs: Attrs };

/** Builds Conv2D around the stock kernel. */
export function makeConv2dConfig(stock: KernelConfig): KernelConfig {
  const conv2d = (args: Args<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const info = geometry(inputs.x.shape, inputs.filter.shape, attrs);
    if (!info || !singleThreaded(backend)) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return directConv2d(backend, inputs.x, inputs.filter, null, false, info);
  };
  return {
    kernelName: Conv2D,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: conv2d as unknown as KernelFunc,
  };
}

/** Builds FusedConv2D around the stock kernel: bias of one value per channel, ReLU or no activation. */
export function makeFusedConv2dConfig(stock: KernelConfig): KernelConfig {
  const fused = (
    args: Args<
      { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
      FusedConv2DAttrs
    >,
  ): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias, preluActivationWeights } = inputs;
    const info = geometry(x.shape, filter.shape, attrs);
    const activation = attrs.activation ?? 'linear';
    const supported =
      info !== null &&
      singleThreaded(backend) &&
      (activation === 'linear' || activation === 'relu') &&
      !preluActivationWeights &&
      (!bias || util.sizeFromShape(bias.shape) === info.outChannels);
    if (!supported || !info) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return directConv2d(backend, x, filter, bias ?? null, activation === 'relu', info);
  };
  return {
    kernelName: FusedConv2D,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: fused as unknown as KernelFunc,
  };
}

/**
 * Inputs x, filter and optionally bias; attrs strides and pad (as Conv2D; NHWC, no dilation) and relu. The
 * training convolution of ../conv-layer.ts: y = conv(x, filter) (+ bias) (ReLU), one pass.
 */
export const CONV2D_TRAIN = 'PneumoscopeConv2D';

export interface Conv2DTrainAttrs {
  strides: [number, number];
  pad: 'valid' | 'same';
  relu: boolean;
}

/** Conv2DInfo for the training convolution's inputs and attrs. */
function trainInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DTrainAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
  );
}

/** Builds the training convolution on wasm, falling back to the stock FusedConv2D on threaded builds. */
export function makeConv2dTrainConfig(stockFused: KernelConfig): KernelConfig {
  const train = (
    args: Args<{ x: TensorInfo; filter: TensorInfo; bias?: TensorInfo }, Conv2DTrainAttrs>,
  ): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias } = inputs;
    if (!singleThreaded(backend)) {
      const fusedAttrs = {
        ...attrs,
        dataFormat: 'NHWC',
        dilations: 1,
        activation: attrs.relu ? 'relu' : 'linear',
      };
      return stockFused.kernelFunc({
        inputs,
        backend,
        attrs: fusedAttrs,
      } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return directConv2d(backend, x, filter, bias ?? null, attrs.relu, trainInfo(x, filter, attrs));
  };
  return { kernelName: CONV2D_TRAIN, backendName: 'wasm', kernelFunc: train as unknown as KernelFunc };
}
