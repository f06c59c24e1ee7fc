/**
 * Conv2D, FusedConv2D (bias, ReLU or none) and the training convolution of ../conv-layer.ts on Pneumoscope's
 * convolutions (convolution.ts: Winograd for 3x3 stride-1 layers, a direct SIMD kernel otherwise), for NHWC
 * data without dilation; everything else goes to the stock kernels. On one thread they beat XNNPACK's
 * convolution on every layer of the registered models (docs/engine.md). They run on one thread, so on TF.js's
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
import { kernelPool } from '../simd/pool.ts';
import { convolve, convolvesInParallel } from './convolution.ts';

/**
 * Whether Pneumoscope's convolution beats the stock one here: always on one thread; on the threaded build when
 * it uses every thread too (convolution.ts), else XNNPACK's threaded operator does.
 */
function ours(backend: BackendWasm, info: backend_util.Conv2DInfo): boolean {
  const pool = kernelPool(backend);
  return pool === null || convolvesInParallel(info, pool.threads);
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

type Args<Inputs, Attrs> = { inputs: Inputs; backend: BackendWasm; attrs: Attrs };

/** Builds Conv2D around the stock kernel. */
export function makeConv2dConfig(stock: KernelConfig): KernelConfig {
  const conv2d = (args: Args<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const info = geometry(inputs.x.shape, inputs.filter.shape, attrs);
    if (!info || !ours(backend, info)) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return convolve(backend, inputs.x, inputs.filter, null, false, info);
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
      ours(backend, info) &&
      (activation === 'linear' || activation === 'relu') &&
      !preluActivationWeights &&
      (!bias || util.sizeFromShape(bias.shape) === info.outChannels);
    if (!supported || !info) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return convolve(backend, x, filter, bias ?? null, activation === 'relu', info);
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
    const info = trainInfo(x, filter, attrs);
    if (!ours(backend, info)) {
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
    return convolve(backend, x, filter, bias ?? null, attrs.relu, info);
  };
  return { kernelName: CONV2D_TRAIN, backendName: 'wasm', kernelFunc: train as unknown as KernelFunc };
}
