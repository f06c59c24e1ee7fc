/**
 * Trainers: what runs the optimiser steps of a training run. `createTrainer` returns
 * - with one replica, a LocalTrainer: the step runs on the given model in this thread;
 * - with more, a DataParallelTrainer: one worker thread per replica, each with its own single-threaded wasm
 *   backend and a copy of the model; each batch is split between them, batch norm and gradients are summed
 *   across them (collective.ts), and every replica applies the same update. The given model and optimiser are
 *   brought up to date by `sync()` (e.g. before validation or a checkpoint), and replicas are re-seeded from
 *   them by `reload()` (e.g. after restoring a checkpoint).
 * Data parallelism uses every core for every part of a step (XNNPACK's operators, Pneumoscope's SIMD kernels and
 * the JavaScript between them), with one exchange per batch-norm pass and one per step: on two cores it trains
 * ~1.8x as fast as one thread, where TF.js's threaded build reaches ~1.3x (docs/engine.md).
 */
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { startTsWorker } from '../../core/ts-worker.ts';
import { createAugmenter, type InPlaceBatchAugment } from '../../data/augment.ts';
import type { KernelProfile } from '../profile.ts';
import { type StepResult, trainStep } from '../train-step.ts';
import { createCollectiveBuffers } from './collective.ts';
import {
  type AugmentationSpec,
  type BatchBuffers,
  type Envelope,
  type MemoryReply,
  type ReplyEnvelope,
  type Request,
  type StateReply,
  type StepReply,
  slotViews,
} from './protocol.ts';

export type { AugmentationSpec } from './protocol.ts';

import { readModelWeights, readOptimizerState, writeModelWeights, writeOptimizerState } from './state.ts';

/** A batch as packed grey bytes, before it becomes tensors. */
export interface RawBatch {
  /** count x imageSize² grey values. */
  pixels: Uint8Array;
  /** 0 or 1 per image. */
  labels: ArrayLike<number>;
  /** Loss weight per image. */
  weights: ArrayLike<number>;
  /** With the trainer's augmentation: the batch seed its images are augmented with (else none are). */
  augmentSeed?: number;
}

export interface Trainer {
  readonly replicas: number;
  /**
   * One optimiser step on `batch` at this learning rate; `seed` makes its random draws (dropout) reproducible.
   * The batch is read before `step` returns, so its buffers may be reused for the next batch right away.
   */
  step(batch: RawBatch, learningRate: number, seed: number): Promise<StepResult>;
  /** Brings the model and optimiser given to createTrainer up to date with the trained state. */
  sync(): Promise<void>;
  /** Makes the trainer continue from the model's and optimiser's current state (after they were restored). */
  reload(): Promise<void>;
  /** Live tensors and backend buffers of each replica (this thread's for a local trainer), for leak checks. */
  memory(): Promise<MemoryReply[]>;
  /**
   * Starts timing the kernels of replica 0 (../profile.ts); `stopProfile` returns them. A local trainer has no
   * replica (its kernels run in this thread, where the caller can profile them): null.
   */
  startProfile(): Promise<void>;
  stopProfile(): Promise<KernelProfile | null>;
  dispose(): Promise<void>;
}

export interface TrainerOptions {
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  /** 1: train in this thread; more: one worker thread per replica. */
  replicas: number;
  imageSize: number;
  /** Largest batch the trainer will be given. */
  batchSize: number;
  /** Probability clipping inside the loss. */
  epsilon: number;
  /**
   * Augmentation of the training images, done by whoever trains on them (each replica its own share, so the
   * coordinating thread does not compete with the replicas for the cores).
   */
  augmentation?: AugmentationSpec;
}

function imageCount(batch: RawBatch, imageSize: number): number {
  const count = batch.pixels.length / (imageSize * imageSize);
  if (!Number.isInteger(count) || count !== batch.labels.length || count !== batch.weights.length) {
    throw new Error(`inconsistent batch: ${batch.pixels.length} pixel bytes, ${batch.labels.length} labels`);
  }
  return count;
}

/** Trains the given model in this thread. */
class LocalTrainer implements Trainer {
  readonly replicas = 1;
  private readonly augment: InPlaceBatchAugment | null;

  constructor(private readonly options: TrainerOptions) {
    this.augment = options.augmentation ? createAugmenter(options.augmentation).inPlace : null;
  }

  async step(batch: RawBatch, learningRate: number, seed: number): Promise<StepResult> {
    const { imageSize } = this.options;
    const n = imageCount(batch, imageSize);
    let pixels = batch.pixels;
    if (this.augment && batch.augmentSeed !== undefined) {
      pixels = pixels.slice();
      this.augment({ pixels, count: n, imageSize, seed: batch.augmentSeed });
    }
    const tensors = tf.tidy(() => ({
      x: tf.tensor4d(Float32Array.from(pixels), [n, imageSize, imageSize, 1]),
      y: tf.tensor2d(Float32Array.from(batch.labels), [n, 1]),
      weights: tf.tensor2d(Float32Array.from(batch.weights), [n, 1]),
    }));
    try {
      const { model, optimizer, epsilon } = this.options;
      return trainStep({ model, optimizer, batch: tensors, learningRate, seed, epsilon });
    } finally {
      tf.dispose([tensors.x, tensors.y, tensors.weights]);
    }
  }

  async sync(): Promise<void> {}
  async reload(): Promise<void> {}
  async memory(): Promise<MemoryReply[]> {
    return [{ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() }];
  }
  async startProfile(): Promise<void> {}
  async stopProfile(): Promise<KernelProfile | null> {
    return null;
  }
  async dispose(): Promise<void> {}
}

/** One replica's worker and its request queue. */
class ReplicaWorker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private failure: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ReplyEnvelope) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new Error(`training replica failed: ${reply.error}`));
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`training replica exited with code ${code}`));
    });
  }

  request<T>(request: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...request } satisfies Envelope, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Splits `count` images over `replicas` as evenly as possible, the larger parts first. */
export function splitBatch(count: number, replicas: number): { start: number; count: number }[] {
  const base = Math.floor(count / replicas);
  const extra = count % replicas;
  const parts: { start: number; count: number }[] = [];
  let start = 0;
  for (let r = 0; r < replicas; r++) {
    const part = base + (r < extra ? 1 : 0);
    parts.push({ start, count: part });
    start += part;
  }
  return parts;
}

/** Trains replicas of the model in worker threads (see the module comment). */
class DataParallelTrainer implements Trainer {
  private slot = 0;

  private constructor(
    private readonly options: TrainerOptions,
    private readonly workers: ReplicaWorker[],
    private readonly batches: BatchBuffers,
  ) {}

  get replicas(): number {
    return this.workers.length;
  }

  static async create(options: TrainerOptions): Promise<DataParallelTrainer> {
    const { model, optimizer, replicas, imageSize, batchSize } = options;
    const area = imageSize * imageSize;
    const batches: BatchBuffers = {
      capacity: batchSize,
      imageSize,
      pixels: new SharedArrayBuffer(2 * batchSize * area),
      targets: new SharedArrayBuffer(4 * batchSize * Float32Array.BYTES_PER_ELEMENT),
    };
    const parameters = model.trainableWeights.reduce((sum, w) => sum + w.read().size, 0);
    const collective = createCollectiveBuffers(replicas, parameters);
    const topology = model.toJSON(null, false);
    const weights = readModelWeights(model);
    const optimizerState = await readOptimizerState(optimizer);
    const replica = new URL('./replica.ts', import.meta.url);
    const workers = Array.from({ length: replicas }, () => new ReplicaWorker(startTsWorker(replica)));
    const trainer = new DataParallelTrainer(options, workers, batches);
    try {
      await Promise.all(
        workers.map((w, rank) =>
          w.request({
            kind: 'init',
            rank,
            collective,
            batches,
            topology,
            weights,
            optimizer: optimizerState,
            epsilon: options.epsilon,
            augmentation: options.augmentation ?? null,
          }),
        ),
      );
    } catch (error) {
      await trainer.dispose();
      throw error;
    }
    return trainer;
  }

  async step(batch: RawBatch, learningRate: number, seed: number): Promise<StepResult> {
    const n = imageCount(batch, this.batches.imageSize);
    if (n > this.batches.capacity) {
      throw new Error(`batch of ${n} images exceeds the trainer's batch size ${this.batches.capacity}`);
    }
    // Two slots: the caller may build (and hand over) the next batch while this one trains.
    const slot = this.slot;
    this.slot ^= 1;
    const views = slotViews(this.batches, slot);
    views.pixels.set(batch.pixels);
    views.labels.set(batch.labels);
    views.weights.set(batch.weights);
    const parts = splitBatch(n, this.replicas);
    const participants = parts.filter((p) => p.count > 0).length;
    const replies = await Promise.all(
      this.workers.map((w, rank) =>
        w.request<StepReply>({
          kind: 'step',
          slot,
          ...parts[rank],
          total: n,
          participants,
          learningRate,
          seed,
          augmentSeed: batch.augmentSeed ?? null,
        }),
      ),
    );
    const probabilities = new Float32Array(n);
    let loss = 0;
    replies.forEach((reply, rank) => {
      probabilities.set(reply.probabilities, parts[rank].start);
      loss += (reply.loss * parts[rank].count) / n;
    });
    return { loss, probabilities };
  }

  async sync(): Promise<void> {
    // Replicas are identical in everything the model computes; replica 0 speaks for all.
    const state = await this.workers[0].request<StateReply>({ kind: 'read-state' });
    writeModelWeights(this.options.model, state.weights);
    await writeOptimizerState(this.options.optimizer, state.optimizer);
  }

  async reload(): Promise<void> {
    const weights = readModelWeights(this.options.model);
    const optimizer = await readOptimizerState(this.options.optimizer);
    await Promise.all(this.workers.map((w) => w.request({ kind: 'write-state', weights, optimizer })));
  }

  memory(): Promise<MemoryReply[]> {
    return Promise.all(this.workers.map((w) => w.request<MemoryReply>({ kind: 'memory' })));
  }

  async startProfile(): Promise<void> {
    await this.workers[0].request({ kind: 'profile-start' });
  }

  stopProfile(): Promise<KernelProfile | null> {
    return this.workers[0].request<KernelProfile | null>({ kind: 'profile-stop' });
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        await w.request({ kind: 'dispose' }).catch(() => undefined);
        await w.terminate();
      }),
    );
  }
}

/** A trainer for `options.model` with `options.replicas` replicas (see the module comment). */
export async function createTrainer(options: TrainerOptions): Promise<Trainer> {
  if (!Number.isInteger(options.replicas) || options.replicas < 1) {
    throw new Error(`replicas must be a positive integer, got ${options.replicas}`);
  }
  return options.replicas === 1 ? new LocalTrainer(options) : DataParallelTrainer.create(options);
}
