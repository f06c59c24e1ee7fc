/**
 * MaxPoolGrad for the wasm backend: routes each output gradient to the FIRST maximum of its window (row-major
 * order), as TensorFlow and the tfjs cpu backend do. Ties are common in training (an all-zero window after a
 * ReLU), and sending the gradient to every tied position would multiply it.
 *
 * No XNNPACK operator computes this. The common case (2x2 windows, stride 2) runs in the SIMD module of
 * ../simd (4 channels per instruction, branch-free first-max selection); other windows are one JavaScript pass
 * over the wasm heap: per output pixel, a running max/argmax over the window for all channels at once (channels
 * are contiguous in NHWC), then a scatter-add.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';

interface MaxPoolGradArgs {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}

function maxPoolGrad({ inputs, backend, attrs }: MaxPoolGradArgs): TensorInfo {
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, 'float32');
  if (isPlainHalving(info)) {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const rows = info.batchSize * info.outHeight;
    simdKernels(backend).maxPoolGradHalving(at(input), at(dy), at(dx), rows, info.outWidth, info.inChannels);
    return dx;
  }
  // Heap views are taken after makeOutput: an allocation may grow (and so replace) the wasm memory buffer.
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  out.fill(0);
  routeToFirstMax({ x, g, out, info });
  return dx;
}

/** 2x2 windows, stride 2, no padding, even sizes: every input pixel lies in exactly one window. */
function isPlainHalving(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.inHeight === 2 * info.outHeight &&
    info.inWidth === 2 * info.outWidth
  );
}

/** The pooling geometry plus the three heap views. */
interface RouteArgs {
  x: Float32Array;
  g: Float32Array;
  out: Float32Array;
  info: backend_util.Conv2DInfo;
}

function routeToFirstMax({ x, g, out, info }: RouteArgs): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const best = new Float32Array(channels);
  const bestAt = new Int32Array(channels);
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const batchBase = n * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - padTop;
      const hStart = Math.max(h0, 0);
      const hEnd = Math.min(h0 + filterHeight, inHeight);
      for (let ow = 0; ow < outWidth; ow++, gi += channels) {
        const w0 = ow * strideWidth - padLeft;
        const wStart = Math.max(w0, 0);
        const wEnd = Math.min(w0 + filterWidth, inWidth);
        best.fill(Number.NEGATIVE_INFINITY);
        bestAt.fill(-1);
        for (let h = hStart; h < hEnd; h++) {
          for (let w = wStart; w < wEnd; w++) {
            const base = batchBase + (h * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c];
              // Strictly greater keeps the first maximum; the -1 check lets a window of -Infinity still pick one.
              if (v > best[c] || bestAt[c] < 0) {
                best[c] = v;
                bestAt[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < channels; c++) {
          if (bestAt[c] >= 0) out[bestAt[c]] += g[gi + c];
        }
      }
    }
  }
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelFunc,
};
