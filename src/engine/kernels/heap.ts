/**
 * Direct access to the wasm backend's heap for kernels that lay data out themselves: fresh zeroed buffers, and
 * "views", TensorInfos that alias a window of another tensor's memory so XNNPACK can read a shifted matrix
 * without a copy. Views are released with `releaseView`, never `disposeData` (which would free an interior
 * pointer of the owning allocation).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** A float32 tensor on the wasm heap, filled with zeros. */
export function makeZeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const info = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(info) as Float32Array).fill(0);
  return info;
}

/** A float32 view of `shape` starting `elementOffset` floats into `owner`'s memory (no copy). */
export function makeView(
  backend: BackendWasm,
  owner: TensorInfo,
  elementOffset: number,
  shape: number[],
): TensorInfo {
  const byteOffset = backend.getMemoryOffset(owner.dataId) + elementOffset * 4;
  return backend.makeOutput(shape, 'float32', byteOffset);
}

/** Forgets a view made by `makeView` without freeing the memory it aliases. */
export function releaseView(backend: BackendWasm, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (!data) return;
  backend.dataIdMap.delete(view.dataId);
  (backend.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(data.id);
}

/** The float32 contents of a tensor on the heap. Re-read after any allocation: the heap may have moved. */
export function heapFloats(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
