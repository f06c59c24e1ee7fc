/**
 * FusedBatchNorm on the wasm backend (inference-mode batch norm, in every prediction of a model whose batch norm
 * is not folded: validation during training, precise BN's neighbours, `cxr evaluate`): y = (x - mean) * s +
 * offset with s = scale / sqrt(variance + epsilon) per channel, as one SIMD pass (bn_normalize) split over the
 * threads of the kernel pool. The stock kernel is a scalar loop on one thread. Statistics that are not one value
 * per channel (other broadcasts) keep the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  FusedBatchNorm,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { heapAddress } from '../simd/index.ts';
import { overRows, Scratch } from './batch-norm-train.ts';

interface FusedBatchNormArgs {
  inputs: { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
  backend: BackendWasm;
  attrs: FusedBatchNormAttrs;
}

/** Builds FusedBatchNorm around the stock kernel. */
export function makeFusedBatchNormConfig(stock: KernelConfig): KernelConfig {
  const batchNorm = (args: FusedBatchNormArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, mean, variance, offset, scale } = inputs;
    const channels = x.shape[x.shape.length - 1];
    const perChannel = [mean, variance, offset, scale].every(
      (t) => t === undefined || (t.dtype === 'float32' && util.sizeFromShape(t.shape) === channels),
    );
    if (!perChannel || x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const rows = util.sizeFromShape(x.shape) / channels;
    const y = backend.makeOutput(x.shape, 'float32');
    const scratch = new Scratch(backend, channels, 2);
    try {
      const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      const [factor, shift] = [scratch.coefficientView(0), scratch.coefficientView(1)];
      const v = heap(variance);
      const g = scale ? heap(scale) : null;
      const b = offset ? heap(offset) : null;
      for (let c = 0; c < channels; c++) {
        factor[c] = (g ? g[c] : 1) / Math.sqrt(v[c] + attrs.varianceEpsilon);
        shift[c] = b ? b[c] : 0;
      }
      const at = (t: TensorInfo) => heapAddress(backend, t);
      const row = 4 * channels;
      overRows(backend, 'bn_normalize', rows, (begin, end) => [
        at(x) + begin * row,
        at(mean),
        scratch.coefficient(0),
        scratch.coefficient(1),
        at(y) + begin * row,
        end - begin,
        channels,
      ]);
    } finally {
      scratch.free();
    }
    return y;
  };
  return {
    kernelName: FusedBatchNorm,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: batchNorm as unknown as KernelFunc,
  };
}
