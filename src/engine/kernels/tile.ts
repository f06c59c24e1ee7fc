/**
 * Tile on the wasm backend. The stock kernel computes a source index per output element, which makes the
 * batch-norm gradient's tile of a [1, 1, 1, C] vector to the activation's full size one of the slowest steps of
 * training. Here each level of the shape is written once and then replicated by doubling block copies
 * (`copyWithin` is a memmove), so the cost is that of writing the output.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Tile,
  type TileAttrs,
  util,
} from '@tensorflow/tfjs-core';

interface TileArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: TileAttrs;
}

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Repeats out[start, start + length) so that it fills `times` consecutive blocks. */
function replicate(out: NumericArray, start: number, length: number, times: number): void {
  const total = length * times;
  let filled = length;
  while (filled < total) {
    const chunk = Math.min(filled, total - filled);
    out.copyWithin(start + filled, start, start + chunk);
    filled += chunk;
  }
}

interface TileLayout {
  inShape: number[];
  reps: number[];
  inStrides: number[];
  outStrides: number[];
}

/** Writes the tile of input dims d.. (read at `from`) to the output at `to`. */
function writeLevel(
  layout: TileLayout,
  src: NumericArray,
  out: NumericArray,
  d: number,
  from: number,
  to: number,
): void {
  const { inShape, reps, inStrides, outStrides } = layout;
  const last = d === inShape.length - 1;
  const blockLength = last ? inShape[d] : inShape[d] * outStrides[d];
  if (last) {
    out.set(src.subarray(from, from + inShape[d]), to);
  } else {
    for (let i = 0; i < inShape[d]; i++) {
      writeLevel(layout, src, out, d + 1, from + i * inStrides[d], to + i * outStrides[d]);
    }
  }
  replicate(out, to, blockLength, reps[d]);
}

function tile({ inputs, backend, attrs }: TileArgs): TensorInfo {
  const { x } = inputs;
  if (x.dtype === 'string') throw new Error('Tile on wasm does not support string tensors');
  const reps = [...attrs.reps];
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  const src = backend.typedArrayFromHeap(x) as NumericArray;
  const dst = backend.typedArrayFromHeap(out) as NumericArray;
  if (x.shape.length === 0) {
    dst.set(src);
    return out;
  }
  // Strides with a trailing 1 so that the last dimension is indexed like the others.
  const inStrides = [...util.computeStrides(x.shape), 1];
  const outStrides = [...util.computeStrides(outShape), 1];
  writeLevel({ inShape: x.shape, reps, inStrides, outStrides }, src, dst, 0, 0, 0);
  return out;
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: 'wasm',
  kernelFunc: tile as unknown as KernelFunc,
};
