/**
 * Identity on the wasm backend, sharing the input's buffer (a reference count) instead of copying it. TF.js
 * clones every tensor it saves for the backward pass through this kernel, so the stock copy duplicated each
 * saved activation of every training step. Tensor data is immutable in TF.js (variables swap buffers rather
 * than write into them), which is why the cpu backend shares here too; strings keep the stock path.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

interface IdentityArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
}

/** Builds the Identity kernel around the stock one (kept for string tensors). */
export function makeIdentityConfig(stockConfig: KernelConfig): KernelConfig {
  const identity = (args: IdentityArgs): TensorInfo => {
    const { x } = args.inputs;
    if (x.dtype === 'string')
      return stockConfig.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return {
    kernelName: Identity,
    backendName: 'wasm',
    setupFunc: stockConfig.setupFunc,
    kernelFunc: identity as unknown as KernelFunc,
  };
}
