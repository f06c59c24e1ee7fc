/**
 * Conv2DBackpropInput for the wasm backend. The stock kernel is a scalar loop; this one is a forward XNNPACK
 * convolution (the "transposed convolution as convolution" identity):
 *   dx = conv2d(dyDilated, flip(W) with in/out channels swapped, stride 1, padding KH-1-top / KW-1-left)
 * where dyDilated has (stride - 1) zeros between rows and columns (only for stride > 1). Padding that comes out
 * negative (explicit padding wider than the filter) is applied as a crop of the result instead. One input
 * channel at stride 1 is a direct SIMD loop instead (see singleChannelInputGradient).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';
import { Intermediates, runWasmKernel } from './wasm-ops.ts';

interface Conv2DBackpropInputArgs {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}

/** Inserts (stride - 1) zeros after every row and column of dy: [N, OH, OW, C] -> [N, OH*sh, OW*sw, C]. */
function dilateRowsAndColumns(
  scope: Intermediates,
  dy: TensorInfo,
  strideHeight: number,
  strideWidth: number,
): TensorInfo {
  if (strideHeight === 1 && strideWidth === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const expanded = scope.run('Reshape', { x: dy }, { shape: [n, h, 1, w, 1, c] });
  const padded = scope.run(
    'PadV2',
    { x: expanded },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, strideHeight - 1],
        [0, 0],
        [0, strideWidth - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return scope.run('Reshape', { x: padded }, { shape: [n, h * strideHeight, w * strideWidth, c] });
}

function conv2dBackpropInput({ inputs, backend, attrs }: Conv2DBackpropInputArgs): TensorInfo {
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`Conv2DBackpropInput on wasm supports only NHWC data, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { filterHeight, filterWidth, inHeight, inWidth, strideHeight, strideWidth } = info;
  if (info.inChannels === 1 && info.outChannels % 4 === 0 && strideHeight === 1 && strideWidth === 1) {
    return singleChannelInputGradient(backend, dy, filter, info);
  }

  const scope = new Intermediates(backend);
  try {
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = scope.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    const dilated = dilateRowsAndColumns(scope, dy, strideHeight, strideWidth);
    const top = filterHeight - 1 - info.padInfo.top;
    const left = filterWidth - 1 - info.padInfo.left;
    const bottom = inHeight + filterHeight - 1 - dilated.shape[1] - top;
    const right = inWidth + filterWidth - 1 - dilated.shape[2] - left;
    const conv = runWasmKernel(
      backend,
      'Conv2D',
      { x: dilated, filter: swapped },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [Math.max(top, 0), Math.max(bottom, 0)],
          [Math.max(left, 0), Math.max(right, 0)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    );
    if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) return conv;
    scope.keep(conv);
    return runWasmKernel(
      backend,
      'Slice',
      { x: conv },
      { begin: [0, Math.max(-top, 0), Math.max(-left, 0), 0], size: [...inputShape] },
    );
  } finally {
    scope.free();
  }
}

/**
 * One input channel (the first layer on grey images, whose input gradient TF.js's fused-conv op computes even
 * though nothing uses it): XNNPACK runs a 1-output-channel convolution poorly, so a SIMD loop does it (../simd).
 */
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
