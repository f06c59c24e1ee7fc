/**
 * Conv2DBackpropFilter for the wasm backend (the stock backend has none: tfjs#8474).
 *
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of xPadded[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]
 *
 * The input is laid out channel-major on a zero-padded grid of Gh x Gw pixels per image (xGrid [Ci, N*Gh*Gw]),
 * where a filter tap is a constant offset kh*Gw + kw. The reduction runs over every output pixel: a GEMM with
 * a very long inner dimension, which XNNPACK runs with poor cache reuse (it repacks and re-streams dy per tap).
 * Pneumoscope's SIMD kernels (../simd/kernels.c) do it instead:
 * - 3x3 stride-1 convolutions with at least 4 input channels: Winograd F(3x3, 2x2) (convolution.ts), on x and
 *   dy directly, about 2x the direct kernel below;
 * - 1 input channel, output channels % 16 == 0 (the first layer on grey images): filter_grad_single_channel;
 * - everything else: filter_grad, cache-blocked over output rows (about 1.6x the XNNPACK products). It works on
 *   blocks of 4 input x 8 output channels; other channel counts get zero planes in xGrid and a channel-padded
 *   copy of dy, and the padding is dropped from the result.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';
import { isWinograd, winogradFilterGradient } from './convolution.ts';
import { heapFloats, makeZeros } from './heap.ts';

interface Conv2DBackpropFilterArgs {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}

/** The shared grid geometry: every image padded (and, for stride > 1, enlarged) to gridHeight x gridWidth. */
interface Grid {
  info: backend_util.Conv2DInfo;
  gridHeight: number;
  gridWidth: number;
  /** Grid pixels over the whole batch: the reduction length of every tap's matrix multiply. */
  length: number;
}

function gridFor(info: backend_util.Conv2DInfo): Grid {
  const { top, bottom, left, right } = info.padInfo;
  const gridHeight = Math.max(info.inHeight + top + bottom, info.outHeight * info.strideHeight);
  const gridWidth = Math.max(info.inWidth + left + right, info.outWidth * info.strideWidth);
  return { info, gridHeight, gridWidth, length: info.batchSize * gridHeight * gridWidth };
}

/**
 * x [N, H, W, Ci] -> channel-major padded grid [planes, N*Gh*Gw] (planes >= Ci; the extra ones stay zero), plus
 * enough trailing zeros that the last row's shifted reads stay inside the allocation. The transposing scatter
 * runs in the SIMD module.
 */
function writeInputGrid(backend: BackendWasm, x: TensorInfo, grid: Grid, planes: number): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth } = grid.info;
  const { gridHeight, gridWidth, length } = grid;
  const slack = (filterHeight - 1) * gridWidth + filterWidth;
  const out = makeZeros(backend, [planes * length + slack]);
  const { top, left } = grid.info.padInfo;
  if (inChannels > 1) {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const dims = [
      batchSize,
      inHeight,
      inWidth,
      inChannels,
      gridHeight,
      gridWidth,
      top,
      left,
      length,
    ] as const;
    simdKernels(backend).scatterToChannelGrid(at(x), at(out), ...dims);
    return out;
  }
  // One channel: the grid rows are plain copies of image rows.
  const src = heapFloats(backend, x);
  const dst = heapFloats(backend, out);
  for (let n = 0; n < batchSize; n++) {
    for (let h = 0; h < inHeight; h++) {
      const from = (n * inHeight + h) * inWidth;
      dst.set(src.subarray(from, from + inWidth), n * gridHeight * gridWidth + (h + top) * gridWidth + left);
    }
  }
  return out;
}

function conv2dBackpropFilter({ inputs, backend, attrs }: Conv2DBackpropFilterArgs): TensorInfo {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error(`Conv2DBackpropFilter on wasm supports only NHWC data, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (isWinograd(info, info.inChannels)) return winogradFilterGradient(backend, x, dy, info);
  const grid = gridFor(info);
  const { inChannels, outChannels } = info;
  const singleChannel = inChannels === 1 && outChannels % 16 === 0;
  const xGrid = writeInputGrid(backend, x, grid, singleChannel ? 1 : roundUp(inChannels, 4));
  try {
    if (singleChannel) return singleChannelGradient(backend, xGrid, dy, grid);
    return blockedGradient(backend, xGrid, dy, grid);
  } finally {
    backend.disposeData(xGrid.dataId);
  }
}

/**
 * One input channel (the first layer on grey images): each tap's product would be a 1-row GEMM, which XNNPACK
 * runs far below its speed, so a direct SIMD loop over the output pixels computes all taps instead.
 */
function singleChannelGradient(
  backend: BackendWasm,
  xGrid: TensorInfo,
  dy: TensorInfo,
  grid: Grid,
): TensorInfo {
  const {
    batchSize,
    outHeight,
    outWidth,
    outChannels,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  } = grid.info;
  const dw = backend.makeOutput([filterHeight, filterWidth, 1, outChannels], 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  simdKernels(backend).filterGradSingleChannel(
    at(xGrid),
    at(dy),
    at(dw),
    batchSize,
    outHeight,
    outWidth,
    outChannels,
    grid.gridHeight,
    grid.gridWidth,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
  );
  return dw;
}

/** Bytes of dy per chunk of the blocked kernel: small enough to stay in a core's L2 cache. */
const DY_CHUNK_BYTES = 256 * 1024;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * The cache-blocked SIMD kernel (../simd/kernels.c, filter_grad), on 4 input x 8 output channel blocks: xGrid
 * has zero planes up to a multiple of 4; dy is copied with its channels padded to a multiple of 8 when needed,
 * and the padded rows and columns of the result are dropped.
 */
function blockedGradient(backend: BackendWasm, xGrid: TensorInfo, dy: TensorInfo, grid: Grid): TensorInfo {
  const { batchSize, outHeight, outWidth, inChannels, outChannels } = grid.info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = grid.info;
  const planes = roundUp(inChannels, 4);
  const channels = roundUp(outChannels, 8);
  const taps = filterHeight * filterWidth;
  const padded = planes !== inChannels || channels !== outChannels;
  const simd = simdKernels(backend);
  const at = (t: TensorInfo) => heapAddress(backend, t);
  const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const scratch: TensorInfo[] = [];
  try {
    let dyIn = dy;
    if (channels !== outChannels) {
      dyIn = backend.makeOutput([batchSize * outHeight * outWidth * channels], 'float32');
      scratch.push(dyIn);
      simd.packFilter(at(dy), at(dyIn), batchSize * outHeight * outWidth, outChannels);
    }
    let dwOut = dw;
    if (padded) {
      dwOut = backend.makeOutput([taps * planes * channels], 'float32');
      scratch.push(dwOut);
    }
    const chunkRows = Math.max(1, Math.floor(DY_CHUNK_BYTES / (4 * outWidth * channels)));
    simd.filterGrad(
      at(xGrid),
      at(dyIn),
      at(dwOut),
      batchSize,
      outHeight,
      outWidth,
      planes,
      channels,
      grid.gridHeight,
      grid.gridWidth,
      grid.length,
      strideHeight,
      strideWidth,
      filterHeight,
      filterWidth,
      chunkRows,
    );
    if (padded) {
      const from = heapFloats(backend, dwOut);
      const to = heapFloats(backend, dw);
      for (let t = 0; t < taps; t++) {
        for (let ci = 0; ci < inChannels; ci++) {
          const row = (t * planes + ci) * channels;
          to.set(from.subarray(row, row + outChannels), (t * inChannels + ci) * outChannels);
        }
      }
    }
  } finally {
    for (const info of scratch) backend.disposeData(info.dataId);
  }
  return dw;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
