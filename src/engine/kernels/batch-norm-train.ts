/**
 * Batch-norm training kernels for the wasm backend, used by ../batch-norm.ts: the forward pass (batch moments
 * and normalised output) and its backward pass, a few SIMD passes over the data (../simd/kernels.c) instead of
 * a dozen elementwise TF.js ops. Any channel count (the last axis).
 *
 * In data-parallel training (../parallel/collective.ts) each replica holds part of the batch: the per-channel
 * sums are then added across replicas before they are used, so the statistics, and so the outputs and input
 * gradients, are those of the whole batch. The gamma and beta gradients stay each replica's own share (the
 * training step sums every parameter's gradient across replicas).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { activeCollective } from '../parallel/collective.ts';
import { heapAddress, simdKernels } from '../simd/index.ts';

/** Inputs x, gamma, beta; attr epsilon; outputs y, mean, variance, rstd = 1 / sqrt(variance + epsilon). */
export const BATCH_NORM_TRAIN = 'PneumoscopeBatchNormTrain';
/** Inputs dy, x, mean, gamma, rstd (from BATCH_NORM_TRAIN); outputs dx, dgamma, dbeta. */
export const BATCH_NORM_GRAD = 'PneumoscopeBatchNormGrad';

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

/** [rows, channels] of an NHWC tensor. */
function rowsAndChannels(x: TensorInfo): [number, number] {
  const channels = x.shape[x.shape.length - 1];
  return [util.sizeFromShape(x.shape) / channels, channels];
}

/**
 * Heap scratch for one kernel call, laid out as: `coefficients` float32 arrays of `channels` values (per-channel
 * factors for the elementwise pass), a float32 block of 2 * channels (the SIMD reductions' partial sums), then
 * 2 * channels float64 sums, 8-byte aligned.
 */
class Scratch {
  private readonly info: TensorInfo;
  private readonly address: number;
  private readonly blockFloat: number;
  private readonly sumsByte: number;

  constructor(
    private readonly backend: BackendWasm,
    private readonly channels: number,
    coefficients: number,
  ) {
    this.blockFloat = coefficients * channels;
    const floatsBeforeSums = Math.ceil((this.blockFloat + 2 * channels) / 2) * 2;
    this.sumsByte = floatsBeforeSums * 4;
    this.info = backend.makeOutput([floatsBeforeSums + 4 * channels], 'float32');
    this.address = heapAddress(backend, this.info);
  }

  /** Heap address of coefficient array `i`. */
  coefficient(i: number): number {
    return this.address + i * this.channels * 4;
  }
  get block(): number {
    return this.address + this.blockFloat * 4;
  }
  get sums(): number {
    return this.address + this.sumsByte;
  }
  /** Float32 view of coefficient array `i` (valid until the next heap allocation). */
  coefficientView(i: number): Float32Array {
    return new Float32Array(this.heap(), this.coefficient(i), this.channels);
  }
  /** A copy of the first `count` float64 sums. */
  sumsCopy(count: number): Float64Array {
    return new Float64Array(this.heap(), this.sums, count).slice();
  }
  private heap(): ArrayBufferLike {
    return (this.backend.typedArrayFromHeap(this.info) as Float32Array).buffer;
  }
  free(): void {
    this.backend.disposeData(this.info.dataId);
  }
}

/** Sums [local..., rows] across the replicas of the active collective (if any); returns the total row count. */
function exchange(local: Float64Array, rows: number): { totals: Float64Array; rows: number } {
  const collective = activeCollective();
  if (!collective) return { totals: local, rows };
  const values = new Float64Array(local.length + 1);
  values.set(local);
  values[local.length] = rows;
  collective.sumStatistics(values);
  return { totals: values.subarray(0, local.length), rows: values[local.length] };
}

function batchNormTrain({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = inputs;
  const [rows, channels] = rowsAndChannels(x);
  const y = backend.makeOutput(x.shape, 'float32');
  const [mean, variance, rstd] = [0, 1, 2].map(() => backend.makeOutput([channels], 'float32'));
  const scratch = new Scratch(backend, channels, 2);
  try {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const simd = simdKernels(backend);
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const zeros = scratch.coefficient(0);
    scratch.coefficientView(0).fill(0);
    simd.bnChannelSums(at(x), zeros, 0, rows, channels, scratch.block, scratch.sums);
    const sums = exchange(scratch.sumsCopy(channels), rows);
    heap(mean).set(sums.totals.map((s) => s / sums.rows));
    simd.bnChannelSums(at(x), at(mean), 1, rows, channels, scratch.block, scratch.sums);
    const squares = exchange(scratch.sumsCopy(channels), rows);
    const epsilon = Math.fround(attrs.epsilon as number);
    const varianceValues = heap(variance);
    const rstdValues = heap(rstd);
    const gammaValues = heap(gamma);
    const scale = scratch.coefficientView(1);
    for (let c = 0; c < channels; c++) {
      varianceValues[c] = squares.totals[c] / squares.rows;
      rstdValues[c] = 1 / Math.fround(Math.sqrt(Math.fround(varianceValues[c] + epsilon)));
      scale[c] = gammaValues[c] * rstdValues[c];
    }
    simd.bnNormalize(at(x), at(mean), scratch.coefficient(1), at(beta), at(y), rows, channels);
  } finally {
    scratch.free();
  }
  return [y, mean, variance, rstd];
}

function batchNormGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const { dy, x, mean, gamma, rstd } = inputs;
  const [rows, channels] = rowsAndChannels(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgamma = backend.makeOutput([channels], 'float32');
  const dbeta = backend.makeOutput([channels], 'float32');
  const scratch = new Scratch(backend, channels, 3);
  try {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const simd = simdKernels(backend);
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    simd.bnGradSums(at(dy), at(x), at(mean), rows, channels, scratch.block, scratch.sums);
    const local = scratch.sumsCopy(2 * channels);
    const global = exchange(local, rows);
    const [a, b, shift] = [0, 1, 2].map((i) => scratch.coefficientView(i));
    const [gammaValues, rstdValues] = [heap(gamma), heap(rstd)];
    const [dgammaValues, dbetaValues] = [heap(dgamma), heap(dbeta)];
    for (let c = 0; c < channels; c++) {
      const sumDy = global.totals[c];
      const sumDyCentred = global.totals[channels + c];
      // This replica's share of the parameter gradients (all of them without a collective).
      dbetaValues[c] = local[c];
      dgammaValues[c] = local[channels + c] * rstdValues[c];
      a[c] = gammaValues[c] * rstdValues[c];
      b[c] = (a[c] * rstdValues[c] * rstdValues[c] * sumDyCentred) / global.rows;
      shift[c] = (a[c] * sumDy) / global.rows;
    }
    simd.bnGradApply(
      at(dy),
      at(x),
      at(mean),
      scratch.coefficient(0),
      scratch.coefficient(1),
      scratch.coefficient(2),
      at(dx),
      rows,
      channels,
    );
  } finally {
    scratch.free();
  }
  return [dx, dgamma, dbeta];
}

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: 'wasm',
  kernelFunc: batchNormTrain as unknown as KernelFunc,
};

export const batchNormGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormGrad as unknown as KernelFunc,
};
