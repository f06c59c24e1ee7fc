/**
 * Add on the wasm backend, with a fast path for adding a per-channel vector to an NHWC tensor (a convolution's
 * bias during training, which TF.js applies as a separate broadcasting Add): one SIMD pass of ../simd instead of
 * the stock kernel's index-computing broadcast loop. Every other addition goes to the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Add, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';

interface AddArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: BackendWasm;
}

/** [tensor, vector] when one input is a float32 tensor and the other a vector along its last axis (% 4 == 0). */
function channelBiasOperands(a: TensorInfo, b: TensorInfo): [TensorInfo, TensorInfo] | null {
  for (const [x, bias] of [
    [a, b],
    [b, a],
  ]) {
    const channels = x.shape[x.shape.length - 1];
    const isVector = bias.shape.length >= 1 && util.sizeFromShape(bias.shape) === channels;
    const trailing = bias.shape[bias.shape.length - 1] === channels && bias.shape.length <= x.shape.length;
    if (x.dtype === 'float32' && bias.dtype === 'float32' && x.shape.length >= 2 && isVector && trailing) {
      if (channels % 4 === 0 && util.sizeFromShape(x.shape) > channels) return [x, bias];
    }
  }
  return null;
}

/** Builds the Add kernel around the stock one. */
export function makeAddConfig(stockConfig: KernelConfig): KernelConfig {
  const add = (args: AddArgs): TensorInfo => {
    const { a, b } = args.inputs;
    const operands = channelBiasOperands(a, b);
    if (!operands) return stockConfig.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const [x, bias] = operands;
    const { backend } = args;
    const out = backend.makeOutput(x.shape, 'float32');
    const channels = x.shape[x.shape.length - 1];
    const at = (t: TensorInfo) => heapAddress(backend, t);
    simdKernels(backend).addChannelBias(
      at(x),
      at(bias),
      at(out),
      util.sizeFromShape(x.shape) / channels,
      channels,
    );
    return out;
  };
  return {
    kernelName: Add,
    backendName: 'wasm',
    // The stock set-up binds the wasm function the stock kernel calls.
    setupFunc: stockConfig.setupFunc,
    kernelFunc: add as unknown as KernelFunc,
  };
}
