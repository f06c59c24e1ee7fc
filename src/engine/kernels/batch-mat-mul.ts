/**
 * BatchMatMul on the wasm backend: the stock kernel runs XNNPACK only for untransposed operands with a batch of
 * one and falls back to a scalar triple loop otherwise, which is what every dense layer's gradient asks for
 * (x^T · dy and dy · W^T). Transposing the operand explicitly first (a cheap copy) keeps those on XNNPACK.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { Intermediates } from './wasm-ops.ts';

interface BatchMatMulArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: BackendWasm;
  attrs: BatchMatMulAttrs;
}

/** `x` as a rank-2 [rows, cols] matrix transposed, when its leading (batch) dimensions are all 1. */
function transposed2d(scope: Intermediates, x: TensorInfo): TensorInfo {
  const [rows, cols] = x.shape.slice(-2);
  const matrix = scope.run('Reshape', { x }, { shape: [rows, cols] });
  const t = scope.run('Transpose', { x: matrix }, { perm: [1, 0] });
  return scope.run('Reshape', { x: t }, { shape: [1, cols, rows] });
}

function hasUnitBatch(x: TensorInfo): boolean {
  return util.sizeFromShape(x.shape.slice(0, -2)) === 1;
}

/** Builds the BatchMatMul kernel around the stock one, which still does every multiply. */
export function makeBatchMatMulConfig(stockConfig: KernelConfig): KernelConfig {
  const stock = stockConfig.kernelFunc;
  const batchMatMul = (args: BatchMatMulArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const call = (x: { a: TensorInfo; b: TensorInfo }, at: BatchMatMulAttrs) =>
      stock({ inputs: x, backend, attrs: at } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const needsHelp = (attrs.transposeA || attrs.transposeB) && hasUnitBatch(a) && hasUnitBatch(b);
    if (!needsHelp || a.dtype !== 'float32' || b.dtype !== 'float32') return call(inputs, attrs);
    const scope = new Intermediates(backend);
    try {
      const left = attrs.transposeA ? transposed2d(scope, a) : a;
      const right = attrs.transposeB ? transposed2d(scope, b) : b;
      const product = call({ a: left, b: right }, { transposeA: false, transposeB: false });
      const outer = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
      const rows = left.shape[left.shape.length - 2];
      const cols = right.shape[right.shape.length - 1];
      return { ...product, shape: [...outer, rows, cols] };
    } finally {
      scope.free();
    }
  };
  return {
    kernelName: BatchMatMul,
    backendName: 'wasm',
    // The stock set-up binds the wasm function the stock kernel calls.
    setupFunc: stockConfig.setupFunc,
    kernelFunc: batchMatMul as unknown as KernelFunc,
  };
}
