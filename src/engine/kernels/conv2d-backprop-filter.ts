/**
 * Conv2DBackpropFilter for the wasm backend (the stock backend has none: tfjs#8474).
 *
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of xPadded[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]
 *
 * Both operands are laid out on one zero-padded grid of Gh x Gw pixels per image:
 *   xGrid [Ci, N*Gh*Gw]  the input, channel-major, padded;
 *   dyGrid [N*Gh*Gw, Co] dy placed at grid position (oh*s, ow*s), zeros elsewhere.
 * On a flattened grid a shift by (kh, kw) is a constant offset kh*Gw + kw, so each filter tap is ONE matrix
 * multiply, dW[kh, kw] = xGrid[:, offset ..] · dyGrid, where the left operand is a view into xGrid (no copy)
 * and the right operand is the same tensor for every tap, so XNNPACK packs it once and reuses it (its operator
 * cache is keyed by that tensor). Every product runs on XNNPACK's fully-connected GEMM.
 *
 * Measured on the models' layers, XNNPACK spends much of that time repacking dy and re-streaming it from memory
 * (its GEMM does not block a long reduction). So the common shapes go to Pneumoscope's SIMD kernels on the same
 * grid (../simd/kernels.c), and the per-tap products remain the general path:
 * - 1 input channel, output channels % 16 == 0 (the first layer on grey images): filter_grad_single_channel;
 * - input channels % 4 == 0, output channels % 8 == 0 (every other layer of the registered models): filter_grad,
 *   cache-blocked over output rows, about 1.6x faster than the per-tap products.
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
import { heapFloats, makeView, makeZeros, releaseView } from './heap.ts';
import { runWasmKernel } from './wasm-ops.ts';

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
 * x [N, H, W, Ci] -> channel-major padded grid [Ci, N*Gh*Gw], plus enough trailing zeros that the last row's
 * shifted view stays inside the allocation. The transposing scatter runs in the SIMD module.
 */
function writeInputGrid(backend: BackendWasm, x: TensorInfo, grid: Grid): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth } = grid.info;
  const { gridHeight, gridWidth, length } = grid;
  const slack = (filterHeight - 1) * gridWidth + filterWidth;
  const out = makeZeros(backend, [inChannels * length + slack]);
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

/** dy [N, OH, OW, Co] -> [1, N*Gh*Gw, Co] with dy[n, oh, ow] at grid pixel (oh*sh, ow*sw). */
function writeGradientGrid(backend: BackendWasm, dy: TensorInfo, grid: Grid): TensorInfo {
  const { batchSize, outHeight, outWidth, outChannels, strideHeight, strideWidth } = grid.info;
  const { gridHeight, gridWidth, length } = grid;
  const out = makeZeros(backend, [1, length, outChannels]);
  const src = heapFloats(backend, dy);
  const dst = heapFloats(backend, out);
  const rowLength = outWidth * outChannels;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const from = (n * outHeight + oh) * rowLength;
      const to = (n * gridHeight + oh * strideHeight) * gridWidth * outChannels;
      if (strideWidth === 1) {
        dst.set(src.subarray(from, from + rowLength), to);
        continue;
      }
      for (let ow = 0; ow < outWidth; ow++) {
        const pixel = from + ow * outChannels;
        dst.set(src.subarray(pixel, pixel + outChannels), to + ow * strideWidth * outChannels);
      }
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
  const grid = gridFor(info);
  const { inChannels, outChannels } = info;
  const xGrid = writeInputGrid(backend, x, grid);
  try {
    if (inChannels === 1 && outChannels % 16 === 0) return singleChannelGradient(backend, xGrid, dy, grid);
    if (inChannels % 4 === 0 && outChannels % 8 === 0 && process.env.CXR_DW !== 'gemm')
      return blockedGradient(backend, xGrid, dy, grid);
    return tapProducts(backend, xGrid, dy, grid);
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

/** The cache-blocked SIMD kernel (../simd/kernels.c, filter_grad). */
function blockedGradient(backend: BackendWasm, xGrid: TensorInfo, dy: TensorInfo, grid: Grid): TensorInfo {
  const { batchSize, outHeight, outWidth, inChannels, outChannels } = grid.info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = grid.info;
  const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const chunkRows = Math.max(1, Math.floor(DY_CHUNK_BYTES / (4 * outWidth * outChannels)));
  const at = (t: TensorInfo) => heapAddress(backend, t);
  simdKernels(backend).filterGrad(
    at(xGrid),
    at(dy),
    at(dw),
    batchSize,
    outHeight,
    outWidth,
    inChannels,
    outChannels,
    grid.gridHeight,
    grid.gridWidth,
    grid.length,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    chunkRows,
  );
  return dw;
}

/** One XNNPACK matrix product per filter tap, all sharing the packed dy grid. */
function tapProducts(backend: BackendWasm, xGrid: TensorInfo, dy: TensorInfo, grid: Grid): TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels } = grid.info;
  const dyGrid = writeGradientGrid(backend, dy, grid);
  const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  try {
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const shifted = makeView(backend, xGrid, kh * grid.gridWidth + kw, [1, inChannels, grid.length]);
        let tap: TensorInfo;
        try {
          tap = runWasmKernel(
            backend,
            'BatchMatMul',
            { a: shifted, b: dyGrid },
            { transposeA: false, transposeB: false },
          );
        } finally {
          releaseView(backend, shifted);
        }
        heapFloats(backend, dw).set(
          heapFloats(backend, tap),
          (kh * filterWidth + kw) * inChannels * outChannels,
        );
        backend.disposeData(tap.dataId);
      }
    }
  } finally {
    backend.disposeData(dyGrid.dataId);
  }
  return dw;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
