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
import { kernelPool } from '../simd/pool.ts';

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
 * factors for the elementwise pass), then per part of the rows (one per thread of the SIMD kernel pool) a float32
 * block of 2 * channels (a reduction's running partial sums) and 2 * channels float64 sums, 8-byte aligned.
 */
export class Scratch {
  private readonly info: TensorInfo;
  private readonly address: number;
  private readonly partsByte: number;
  private readonly partBytes: number;

  constructor(
    private readonly backend: BackendWasm,
    private readonly channels: number,
    coefficients: number,
    readonly parts = 1,
  ) {
    this.partsByte = Math.ceil((coefficients * channels) / 2) * 8;
    this.partBytes = 2 * channels * 4 + 2 * channels * 8;
    this.info = backend.makeOutput([(this.partsByte + parts * this.partBytes) / 4], 'float32');
    this.address = heapAddress(backend, this.info);
  }

  /** Heap address of coefficient array `i`. */
  coefficient(i: number): number {
    return this.address + i * this.channels * 4;
  }
  block(part: number): number {
    return this.address + this.partsByte + part * this.partBytes;
  }
  sums(part: number): number {
    return this.block(part) + 2 * this.channels * 4;
  }
  /** Float32 view of coefficient array `i` (valid until the next heap allocation). */
  coefficientView(i: number): Float32Array {
    return new Float32Array(this.heap(), this.coefficient(i), this.channels);
  }
  /** The first `count` float64 sums, added over the parts in order. */
  sumsTotal(count: number): Float64Array {
    const total = new Float64Array(count);
    for (let p = 0; p < this.parts; p++) {
      const part = new Float64Array(this.heap(), this.sums(p), count);
      for (let i = 0; i < count; i++) total[i] += part[i];
    }
    return total;
  }
  private heap(): ArrayBufferLike {
    return (this.backend.typedArrayFromHeap(this.info) as Float32Array).buffer;
  }
  free(): void {
    this.backend.disposeData(this.info.dataId);
  }
}

/**
 * Runs a row-wise SIMD kernel over rows [0, rows): in one call, or, on the threaded build, one call per thread of
 * the SIMD kernel pool, each on its own share of the rows (`args(begin, end, part)` gives each call's arguments).
 */
export function overRows(
  backend: BackendWasm,
  kernel: string,
  rows: number,
  args: (begin: number, end: number, part: number) => number[],
): void {
  const calls = rowShares(backend, rows).map(([begin, end], part) => args(begin, end, part));
  const pool = kernelPool(backend);
  if (pool && calls.length > 1) pool.run(kernel, calls);
  else simdKernels(backend).byName(kernel)(...calls[0]);
}

/** Rows below which a kernel runs in one call: a thread hand-off costs more than it saves. */
const MIN_ROWS_PER_PART = 2048;

/** [begin, end) shares of `rows` for the threads overRows will use. */
export function rowShares(backend: BackendWasm, rows: number): [number, number][] {
  const threads = kernelPool(backend)?.threads ?? 1;
  const parts = Math.max(1, Math.min(threads, Math.floor(rows / MIN_ROWS_PER_PART)));
  return Array.from({ length: parts }, (_, p) => [
    Math.floor((p * rows) / parts),
    Math.floor(((p + 1) * rows) / parts),
  ]);
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
  const shares = rowShares(backend, rows);
  const scratch = new Scratch(backend, channels, 2, shares.length);
  try {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const row = 4 * channels;
    const zeros = scratch.coefficient(0);
    scratch.coefficientView(0).fill(0);
    const channelSums = (shift: number, squared: number) =>
      overRows(backend, 'bn_channel_sums', rows, (begin, end, part) => [
        at(x) + begin * row,
        shift,
        squared,
        end - begin,
        channels,
        scratch.block(part),
        scratch.sums(part),
      ]);
    channelSums(zeros, 0);
    const sums = exchange(scratch.sumsTotal(channels), rows);
    heap(mean).set(sums.totals.map((v) => v / sums.rows));
    channelSums(at(mean), 1);
    const squares = exchange(scratch.sumsTotal(channels), rows);
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
    overRows(backend, 'bn_normalize', rows, (begin, end) => [
      at(x) + begin * row,
      at(mean),
      scratch.coefficient(1),
      at(beta),
      at(y) + begin * row,
      end - begin,
      channels,
    ]);
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
  const scratch = new Scratch(backend, channels, 3, rowShares(backend, rows).length);
  try {
    const at = (t: TensorInfo) => heapAddress(backend, t);
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const row = 4 * channels;
    overRows(backend, 'bn_grad_sums', rows, (begin, end, part) => [
      at(dy) + begin * row,
      at(x) + begin * row,
      at(mean),
      end - begin,
      channels,
      scratch.block(part),
      scratch.sums(part),
    ]);
    const local = scratch.sumsTotal(2 * channels);
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
    overRows(backend, 'bn_grad_apply', rows, (begin, end) => [
      at(dy) + begin * row,
      at(x) + begin * row,
      at(mean),
      scratch.coefficient(0),
      scratch.coefficient(1),
      scratch.coefficient(2),
      at(dx) + begin * row,
      end - begin,
      channels,
    ]);
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
