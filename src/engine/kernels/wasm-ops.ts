/**
 * Small helpers for composite kernels on the wasm backend: they call the backend's own registered kernels (whose
 * convolution and matrix multiply run on XNNPACK) directly with TensorInfos, so no tensors are created, nothing
 * is recorded on the gradient tape, and every intermediate is freed by the kernel that made it.
 */

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** Runs another wasm kernel by name; the caller owns (and must free) the result. */
export function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`wasm kernel "${kernelName}" is not registered`);
  const result = kernel.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(result)) throw new Error(`wasm kernel "${kernelName}" returned several outputs`);
  return result;
}

/**
 * A scope for the intermediates of one composite kernel: `keep` registers a TensorInfo for freeing, `free`
 * releases them all (reshapes share data through reference counts, so each one is released once).
 */
export class Intermediates {
  private readonly infos: TensorInfo[] = [];
  constructor(private readonly backend: BackendWasm) {}

  keep(info: TensorInfo): TensorInfo {
    this.infos.push(info);
    return info;
  }

  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    return this.keep(runWasmKernel(this.backend, kernelName, inputs, attrs));
  }

  free(): void {
    for (const info of this.infos) this.backend.disposeData(info.dataId);
    this.infos.length = 0;
  }
}
