/**
 * Pneumoscope's SIMD helper kernels (kernels.c, compiled to kernels.wasm / kernels-shared.wasm), instantiated on
 * the TF.js wasm backend's own memory so they read and write tensors in place. One instance per backend module.
 */
import fs from 'node:fs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export interface SimdKernels {
  /** Pointers are byte offsets into the backend heap; sizes are element counts. */
  maxPoolGradHalving(
    x: number,
    dy: number,
    dx: number,
    rows: number,
    outWidth: number,
    channels: number,
  ): void;
  scatterToChannelGrid(
    x: number,
    dst: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    gridHeight: number,
    gridWidth: number,
    top: number,
    left: number,
    planeStride: number,
  ): void;
  /** Filter gradient for one input channel and a multiple of 16 output channels (see kernels.c). */
  filterGradSingleChannel(
    xGrid: number,
    dy: number,
    dw: number,
    batch: number,
    outHeight: number,
    outWidth: number,
    outChannels: number,
    gridHeight: number,
    gridWidth: number,
    strideHeight: number,
    strideWidth: number,
    filterHeight: number,
    filterWidth: number,
  ): void;
  /** Filter gradient for input channels % 4 == 0 and output channels % 8 == 0 (see kernels.c). */
  filterGrad(...args: number[]): void;
  /** Batch-norm pieces over [rows, channels], any channel count (see kernels.c and batch-norm-train.ts). */
  bnChannelSums(...args: number[]): void;
  bnNormalize(...args: number[]): void;
  bnGradSums(...args: number[]): void;
  bnGradApply(...args: number[]): void;
  /** dx = dy where x > 0, else 0, over `size` floats. */
  reluBackward(dy: number, x: number, dx: number, size: number): void;
  /** out = x + bias per channel over [rows, channels], channels % 4 == 0. */
  addChannelBias(x: number, bias: number, out: number, rows: number, channels: number): void;
  /** Input gradient of a stride-1 convolution with one input channel, out channels % 4 == 0 (see kernels.c). */
  inputGradSingleChannel(...args: number[]): void;
  /** Direct convolution and its input gradient, NHWC, any channel counts, on packed filters (see kernels.c). */
  conv2dForward(...args: number[]): void;
  conv2dInputGrad(...args: number[]): void;
  packFilter(w: number, w8: number, rows: number, outChannels: number): void;
  packFilterTransposed(w: number, wt8: number, taps: number, inChannels: number, outChannels: number): void;
  /** Winograd F(2x2, 3x3) convolution: filter transform and the convolution (see kernels.c). */
  winogradFilter(...args: number[]): void;
  winogradConv(...args: number[]): void;
  /** Winograd F(3x3, 2x2) filter gradient of a 3x3 stride-1 convolution (see kernels.c). */
  winogradFilterGrad(...args: number[]): void;
  /** Adam's update of one variable (see kernels.c and ../kernels/adam.ts). */
  adamUpdate(...args: number[]): void;
  /** Any kernel by its export name in kernels.c (as the kernel pool calls them). */
  byName(name: string): (...args: number[]) => void;
}

interface EmscriptenMemoryHolder {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
}

const instances = new WeakMap<object, SimdKernels>();

/** The backend's wasm memory (shared on TF.js's threaded build). */
export function backendMemory(backend: BackendWasm): WebAssembly.Memory {
  const module = backend.wasm as unknown as EmscriptenMemoryHolder;
  // The single-threaded build exports its memory; the threaded build creates it in JS and keeps it here.
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!memory)
    throw new Error('cannot find the TF.js wasm backend memory (unexpected tfjs-backend-wasm build)');
  return memory;
}

/** The bytes of the kernel module built for this kind of memory. */
export function moduleBytes(memory: WebAssembly.Memory): Uint8Array<ArrayBuffer> {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  return new Uint8Array(
    fs.readFileSync(new URL(shared ? './kernels-shared.wasm' : './kernels.wasm', import.meta.url)),
  );
}

function instantiate(memory: WebAssembly.Memory): SimdKernels {
  const module = new WebAssembly.Module(moduleBytes(memory));
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<
    string,
    (...args: number[]) => void
  >;
  return {
    maxPoolGradHalving: exports.max_pool_grad_halving,
    scatterToChannelGrid: exports.scatter_to_channel_grid,
    filterGradSingleChannel: exports.filter_grad_single_channel,
    filterGrad: exports.filter_grad,
    bnChannelSums: exports.bn_channel_sums,
    bnNormalize: exports.bn_normalize,
    bnGradSums: exports.bn_grad_sums,
    bnGradApply: exports.bn_grad_apply,
    reluBackward: exports.relu_backward,
    addChannelBias: exports.add_channel_bias,
    inputGradSingleChannel: exports.input_grad_single_channel,
    conv2dForward: exports.conv2d_forward,
    conv2dInputGrad: exports.conv2d_input_grad,
    packFilter: exports.pack_filter,
    packFilterTransposed: exports.pack_filter_transposed,
    adamUpdate: exports.adam_update,
    winogradFilter: exports.winograd_filter,
    winogradConv: exports.winograd_conv,
    winogradFilterGrad: exports.winograd_filter_grad,
    byName: (name: string) => {
      const kernel = exports[name];
      if (!kernel) throw new Error(`no kernel "${name}" in the SIMD module`);
      return kernel;
    },
  };
}

/** The SIMD kernels bound to this backend's heap (instantiated on first use). */
export function simdKernels(backend: BackendWasm): SimdKernels {
  const key = backend.wasm as unknown as object;
  let kernels = instances.get(key);
  if (!kernels) {
    kernels = instantiate(backendMemory(backend));
    instances.set(key, kernels);
  }
  return kernels;
}

/** A tensor's byte offset on the heap, as the SIMD kernels take pointers. */
export function heapAddress(backend: BackendWasm, tensor: { dataId: object }): number {
  return backend.getMemoryOffset(tensor.dataId);
}
