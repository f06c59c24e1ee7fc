/**
 * Direct access to the wasm backend's heap for kernels that lay data out themselves: fresh zeroed buffers and
 * float32 views of a tensor's memory.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** A float32 tensor on the wasm heap, filled with zeros. */
export function makeZeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const info = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(info) as Float32Array).fill(0);
  return info;
}

/** The float32 contents of a tensor on the heap. Re-read after any allocation: the heap may have moved. */
export function heapFloats(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
