/**
 * Messages between the coordinating thread (trainer.ts) and the replica workers (replica.ts). Every request
 * carries an id; the worker answers each with the same id, in order.
 */

import type { AugmentOptions } from '../../data/augment.ts';
import type { CollectiveBuffers } from './collective.ts';
import type { ArrayTensor, OptimizerState } from './state.ts';

/** The augmentation a trainer applies to batches that carry an `augmentSeed` (data/augment.ts). */
export type AugmentationSpec = AugmentOptions & { seed: number };

/** Shared memory for the batches: two slots (one being trained on, one being filled), each of `capacity` images. */
export interface BatchBuffers {
  capacity: number;
  imageSize: number;
  /** 2 x capacity x imageSize² grey bytes. */
  pixels: SharedArrayBuffer;
  /** 2 x capacity float32 labels, then 2 x capacity float32 sample weights. */
  targets: SharedArrayBuffer;
}

export interface InitRequest {
  kind: 'init';
  rank: number;
  collective: CollectiveBuffers;
  batches: BatchBuffers;
  /** `model.toJSON(null, false)` of the model to replicate. */
  topology: unknown;
  weights: ArrayTensor[];
  optimizer: OptimizerState;
  /** Probability clipping inside the loss. */
  epsilon: number;
  /** The training images' augmentation, or null. */
  augmentation: AugmentationSpec | null;
}

export interface StepRequest {
  kind: 'step';
  slot: number;
  /** This replica's images: [start, start + count) of the slot. */
  start: number;
  count: number;
  /** Images in the whole batch, and replicas holding some (ranks 0 .. participants - 1). */
  total: number;
  participants: number;
  learningRate: number;
  seed: number;
  /** Augment this replica's images (in place, in the slot) with this batch seed; null: use them as they are. */
  augmentSeed: number | null;
}

export interface ReadStateRequest {
  kind: 'read-state';
}

export interface WriteStateRequest {
  kind: 'write-state';
  weights: ArrayTensor[];
  optimizer: OptimizerState;
}

/** Starts or stops timing the replica's kernels (../profile.ts); stop answers with the KernelProfile. */
export interface ProfileRequest {
  kind: 'profile-start' | 'profile-stop';
}

/** Live tensors and backend buffers of the replica (leak checks). */
export interface MemoryRequest {
  kind: 'memory';
}

export interface DisposeRequest {
  kind: 'dispose';
}

export type Request =
  | InitRequest
  | StepRequest
  | ReadStateRequest
  | WriteStateRequest
  | MemoryRequest
  | ProfileRequest
  | DisposeRequest;

export interface MemoryReply {
  tensors: number;
  buffers: number;
}

export interface StepReply {
  loss: number;
  probabilities: Float32Array;
}

export interface StateReply {
  weights: ArrayTensor[];
  optimizer: OptimizerState;
}

export type Envelope = { id: number } & Request;
export type ReplyEnvelope =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };

/** Byte and float offsets of batch slot `slot` in the shared buffers. */
export function slotViews(
  buffers: BatchBuffers,
  slot: number,
): { pixels: Uint8Array; labels: Float32Array; weights: Float32Array } {
  const area = buffers.imageSize * buffers.imageSize;
  const { capacity } = buffers;
  const targets = new Float32Array(buffers.targets);
  return {
    pixels: new Uint8Array(buffers.pixels, slot * capacity * area, capacity * area),
    labels: targets.subarray(slot * capacity, (slot + 1) * capacity),
    weights: targets.subarray((2 + slot) * capacity, (3 + slot) * capacity),
  };
}
