/**
 * Pneumoscope's convolutions on the wasm heap (../simd/kernels.c), used by the Conv2D, FusedConv2D, training
 * convolution and Conv2DBackpropInput kernels of conv2d.ts and conv2d-backprop-input.ts:
 * - 3x3 stride-1 convolutions (and so their input gradients, which are 3x3 stride-1 convolutions of dy with the
 *   rotated filter) with at least WINOGRAD_MIN_CHANNELS input channels: Winograd F(2x2, 3x3), 16 multiplies per
 *   2x2 outputs instead of 36 (about 1.8x the direct kernel on the registered models' layers);
 * - everything else: the direct kernel (register blocks of 4 pixels x 8 channels, about 1.2x XNNPACK's
 *   convolution on one thread), and its transposed form for input gradients, which skips the zeros a strided
 *   convolution leaves instead of convolving a stride-dilated gradient;
 * - one input channel at stride 1: the first layer's input gradient, in a loop that does not pad the channel.
 * Filters are packed per call with their output channels padded to 8, so every channel count runs the same code.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';
import { kernelPool } from '../simd/pool.ts';

/** Below this many reduced channels the Winograd transforms cost more than they save (the first layer). */
const WINOGRAD_MIN_CHANNELS = 4;
/** Floats of Winograd scratch per block of tiles: transforms of the block stay in a core's L2 cache. */
const WINOGRAD_BLOCK_FLOATS = 32768;
/** The same for the filter gradient, whose running sums are read and written once per block (larger blocks). */
const WINOGRAD_GRADIENT_BLOCK_FLOATS = 65536;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Runs `fn` with a float32 heap buffer of `size` values (its address), freed afterwards. */
function withBuffer<T>(backend: BackendWasm, size: number, fn: (address: number) => T): T {
  const buffer = backend.makeOutput([size], 'float32');
  try {
    return fn(heapAddress(backend, buffer));
  } finally {
    backend.disposeData(buffer.dataId);
  }
}

/** Whether `info` is a 3x3 stride-1 convolution whose reduced channels make Winograd worth it. */
export function isWinograd(info: backend_util.Conv2DInfo, reduced: number): boolean {
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    reduced >= WINOGRAD_MIN_CHANNELS
  );
}

/** One Winograd convolution: the input, how to read the 3x3 filter, the output. */
interface WinogradCall {
  x: number;
  /** Filter value (kh, kw, r, c) at filter + tap * tapStride + r * rStride + c * cStride; flip: tap 8 - (kh*3+kw). */
  filter: number;
  tapStride: number;
  rStride: number;
  cStride: number;
  flip: boolean;
  bias: TensorInfo | null;
  relu: boolean;
  y: number;
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  padTop: number;
  padLeft: number;
}

/** Copies `bias` (outChannels values) to the heap at byte `address`, zero-padded to `padded` values. */
function copyBias(backend: BackendWasm, bias: TensorInfo, address: number, padded: number): void {
  const values = backend.typedArrayFromHeap(bias) as Float32Array;
  const heap = new Float32Array(values.buffer);
  heap.fill(0, address / 4, address / 4 + padded);
  heap.set(values, address / 4);
}

/** The geometry arguments of conv2d_forward and conv2d_input_grad, for `batch` images. */
function geometryArgs(info: backend_util.Conv2DInfo, batch: number): number[] {
  return [
    batch,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** [begin, end) of `total` items in `parts` near-equal shares. */
function shares(total: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, p) => [
    Math.floor((p * total) / parts),
    Math.floor(((p + 1) * total) / parts),
  ]);
}

function winograd(backend: BackendWasm, call: WinogradCall): void {
  const simd = simdKernels(backend);
  const pool = kernelPool(backend);
  const threads = pool?.threads ?? 1;
  const reduce4 = roundUp(call.inChannels, 4);
  const out8 = roundUp(call.outChannels, 8);
  const block = Math.max(4, Math.floor(WINOGRAD_BLOCK_FLOATS / (16 * (reduce4 + out8)) / 4) * 4);
  const filterFloats = 16 * call.inChannels * out8;
  const scratchFloats = 16 * block * (reduce4 + out8);
  withBuffer(backend, filterFloats + out8 + threads * scratchFloats, (buffer) => {
    const u = buffer;
    const bias8 = buffer + filterFloats * 4;
    const scratch = bias8 + out8 * 4;
    const { filter, tapStride, rStride, cStride } = call;
    simd.winogradFilter(
      filter,
      u,
      call.inChannels,
      call.outChannels,
      tapStride,
      rStride,
      cStride,
      call.flip ? 1 : 0,
    );
    if (call.bias) copyBias(backend, call.bias, bias8, out8);
    const tiles = call.batch * Math.ceil(call.outHeight / 2) * Math.ceil(call.outWidth / 2);
    const calls = shares(tiles, Math.min(threads, Math.ceil(tiles / block))).map(([begin, end], p) => [
      call.x,
      u,
      call.bias ? bias8 : 0,
      call.y,
      scratch + p * scratchFloats * 4,
      call.batch,
      call.inHeight,
      call.inWidth,
      call.inChannels,
      call.outHeight,
      call.outWidth,
      call.outChannels,
      call.padTop,
      call.padLeft,
      call.relu ? 1 : 0,
      block,
      begin,
      end,
    ]);
    if (pool && calls.length > 1) pool.run('winograd_conv', calls);
    else simd.winogradConv(...calls[0]);
  });
}

/**
 * Whether `convolve` uses every thread of a threaded backend for this convolution (Winograd splits its tiles,
 * the direct kernel its batch); where it would not, XNNPACK's threaded convolution is the better choice.
 */
export function convolvesInParallel(info: backend_util.Conv2DInfo, threads: number): boolean {
  return isWinograd(info, info.inChannels) || info.batchSize >= threads;
}

/** y = conv(x, filter) (+ bias) (ReLU), NHWC, no dilation. */
export function convolve(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  relu: boolean,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const y = backend.makeOutput(info.outShape, 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  if (isWinograd(info, inChannels)) {
    winograd(backend, {
      x: at(x),
      filter: at(filter),
      tapStride: inChannels * outChannels,
      rStride: outChannels,
      cStride: 1,
      flip: false,
      bias,
      relu,
      y: at(y),
      batch: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      outChannels,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
    return y;
  }
  const simd = simdKernels(backend);
  const out8 = roundUp(outChannels, 8);
  const packedFloats = filterHeight * filterWidth * inChannels * out8;
  withBuffer(backend, packedFloats + (bias ? out8 : 0), (packed) => {
    simd.packFilter(at(filter), packed, filterHeight * filterWidth * inChannels, outChannels);
    const bias8 = bias ? packed + packedFloats * 4 : 0;
    if (bias) copyBias(backend, bias, bias8, out8);
    // With a pool, each thread takes a share of the batch.
    const pool = kernelPool(backend);
    const xImage = info.inHeight * info.inWidth * inChannels * 4;
    const yImage = info.outHeight * info.outWidth * outChannels * 4;
    const calls = shares(info.batchSize, Math.min(pool?.threads ?? 1, info.batchSize)).map(([begin, end]) => [
      at(x) + begin * xImage,
      packed,
      bias8,
      at(y) + begin * yImage,
      ...geometryArgs(info, end - begin),
      relu ? 1 : 0,
    ]);
    if (pool && calls.length > 1) pool.run('conv2d_forward', calls);
    else simd.conv2dForward(...calls[0]);
  });
  return y;
}

/** dx of y = conv(x, filter), for dy; NHWC, no dilation. */
export function convolveInputGradient(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const simd = simdKernels(backend);
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const dx = backend.makeOutput(info.inShape, 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1;
  if (isWinograd(info, outChannels)) {
    // A 3x3 stride-1 convolution of dy with the filter rotated 180 degrees, in and out channels swapped.
    winograd(backend, {
      x: at(dy),
      filter: at(filter),
      tapStride: inChannels * outChannels,
      rStride: 1,
      cStride: outChannels,
      flip: true,
      bias: null,
      relu: false,
      y: at(dx),
      batch: info.batchSize,
      inHeight: info.outHeight,
      inWidth: info.outWidth,
      inChannels: outChannels,
      outHeight: info.inHeight,
      outWidth: info.inWidth,
      outChannels: inChannels,
      padTop: filterHeight - 1 - info.padInfo.top,
      padLeft: filterWidth - 1 - info.padInfo.left,
    });
  } else if (inChannels === 1 && outChannels % 4 === 0 && stride1) {
    simd.inputGradSingleChannel(
      at(dy),
      at(filter),
      at(dx),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.outHeight,
      info.outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
  } else {
    const taps = filterHeight * filterWidth;
    withBuffer(backend, taps * outChannels * roundUp(inChannels, 8), (packed) => {
      simd.packFilterTransposed(at(filter), packed, taps, inChannels, outChannels);
      simd.conv2dInputGrad(at(dy), packed, at(dx), ...geometryArgs(info, info.batchSize));
    });
  }
  return dx;
}

/**
 * dW of a 3x3 stride-1 convolution (isWinograd(info, inChannels)) by Winograd F(3x3, 2x2): the tiles' 4x4
 * transforms are summed over the whole batch and turned into the 3x3 filter once.
 */
export function winogradFilterGradient(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { inChannels, outChannels } = info;
  const reduce4 = roundUp(inChannels, 4);
  const out8 = roundUp(outChannels, 8);
  const block = Math.max(4, Math.floor(WINOGRAD_GRADIENT_BLOCK_FLOATS / (16 * (reduce4 + out8)) / 4) * 4);
  const dw = backend.makeOutput([3, 3, inChannels, outChannels], 'float32');
  const at = (t: TensorInfo) => heapAddress(backend, t);
  withBuffer(backend, 16 * (reduce4 * out8 + block * (reduce4 + out8)), (scratch) => {
    simdKernels(backend).winogradFilterGrad(
      at(x),
      at(dy),
      at(dw),
      scratch,
      info.batchSize,
      info.inHeight,
      info.inWidth,
      inChannels,
      info.outHeight,
      info.outWidth,
      outChannels,
      info.padInfo.top,
      info.padInfo.left,
      block,
    );
  });
  return dw;
}
