/**
 * `cxr bench --profile`: where a training epoch's time goes. One epoch of an architecture (default: the default
 * model at its input size and the default training settings) runs through the real loop: batches gathered and
 * augmented, the trainer's steps (one thread or data-parallel replicas), precise batch norm, validation and the
 * epoch-end hooks. Random images stand in for the dataset (the time does not depend on the pixel values). It
 * reports the time of each part, a per-kernel table, and the bare step's images/s measured the way `cxr bench`
 * does, so the loop's overhead over the step is one subtraction.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AugmentPreset } from '../data/augment.ts';
import { engineThreads } from '../engine/backend.ts';
import { createTrainer, type RawBatch, type Trainer } from '../engine/parallel/trainer.ts';
import { type KernelProfile, startKernelProfile } from '../engine/profile.ts';
import { PROBABILITY_EPS } from '../metrics/calibration.ts';
import type { PixelSet } from './batches.ts';
import { resolveTrainConfig } from './config.ts';
import { type EpochTimings, emptyTimings, initialTrainingState, runTraining } from './loop.ts';
import { augmentationFor, createSeededModel, loopSettings } from './train.ts';

export interface EpochProfileOptions {
  architecture?: string;
  imageSize?: number;
  /** Augmentation strength (a name in AUGMENTATION_PRESETS; default the training default), or 'none'. */
  augmentation?: AugmentPreset | 'none';
  /** Training images in the epoch (default 4696: the default run's share of chest_xray/train). */
  trainImages?: number;
  /** Validation images (default 520: the rest of it). */
  valImages?: number;
  /** Timed bare steps for the comparison figure (default 5, after 2 untimed). */
  bareSteps?: number;
}

export interface EpochProfile {
  architecture: string;
  imageSize: number;
  /** The augmentation strength of the epoch, or 'none'. */
  augmentation: string;
  batchSize: number;
  /** Data-parallel replicas (the engine's thread count on wasm). */
  threads: number;
  trainImages: number;
  valImages: number;
  /** The epoch's training images per second as the loop reports it (steps, batch building, hooks). */
  loopImagesPerSec: number;
  /** Training images per second of the whole epoch, precise batch norm and validation included. */
  epochImagesPerSec: number;
  /** The bare optimiser step on a fixed batch, measured as `cxr bench` does. */
  stepImagesPerSec: number;
  /** Milliseconds per part of the epoch. */
  parts: EpochTimings;
  /** Kernel times of the steps: replica 0's with replicas, else this thread's for the whole epoch. */
  stepKernels: KernelProfile;
  /** With replicas: this thread's kernels (precise batch norm and validation); else null. */
  mainKernels: KernelProfile | null;
}

/** `count` random images of `imageSize`² bytes, labels alternating. */
function randomPixelSet(count: number, imageSize: number, salt: number): PixelSet {
  const pixels = new Uint8Array(count * imageSize * imageSize);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + salt, 2654435761) >>> 24;
  return { pixels, labels: Uint8Array.from({ length: count }, (_, i) => i % 2) };
}

async function bareStepImagesPerSec(trainer: Trainer, batch: RawBatch, steps: number): Promise<number> {
  for (let i = 0; i < 2; i++) await trainer.step(batch, 1e-3, i);
  const started = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(batch, 1e-3, i);
  return (steps * batch.labels.length * 1000) / (performance.now() - started);
}

/** Profiles one epoch on the running engine (see the module comment); the engine must be initialised. */
export async function profileTrainingEpoch(options: EpochProfileOptions = {}): Promise<EpochProfile> {
  const config = resolveTrainConfig({
    architecture: options.architecture,
    imageSize: options.imageSize,
    epochs: 1,
    ...(options.augmentation === 'none'
      ? { augment: false }
      : options.augmentation
        ? { augmentation: options.augmentation }
        : {}),
  });
  const { imageSize, batchSize } = config;
  const trainImages = options.trainImages ?? 4696;
  const valImages = options.valImages ?? 520;
  const train = randomPixelSet(trainImages, imageSize, 1);
  const val = randomPixelSet(valImages, imageSize, 2);
  const threads = tf.getBackend() === 'wasm' ? engineThreads() : 1;
  const model = createSeededModel(config);
  const optimizer = tf.train.adam(config.learningRate);
  const trainer = await createTrainer({
    model,
    optimizer,
    replicas: threads,
    imageSize,
    batchSize,
    epsilon: PROBABILITY_EPS,
    augmentation: augmentationFor(config),
  });
  try {
    const parts = emptyTimings();
    const state = initialTrainingState();
    await trainer.startProfile();
    const main = startKernelProfile();
    let mainKernels: KernelProfile;
    const started = performance.now();
    try {
      await runTraining({
        model,
        optimizer,
        trainer,
        train,
        val,
        state,
        timings: parts,
        settings: loopSettings(config),
      });
    } finally {
      mainKernels = main.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const replicaKernels = await trainer.stopProfile();
    // The bare step, on the same trainer after the epoch (its state does not change its speed).
    const stepBatch: RawBatch = {
      pixels: train.pixels.subarray(0, batchSize * imageSize * imageSize),
      labels: train.labels.subarray(0, batchSize),
      weights: new Float32Array(batchSize).fill(1),
    };
    const stepImagesPerSec = await bareStepImagesPerSec(trainer, stepBatch, options.bareSteps ?? 5);
    return {
      architecture: config.architecture,
      imageSize,
      augmentation: config.augment ? config.augmentation : 'none',
      batchSize,
      threads,
      trainImages,
      valImages,
      loopImagesPerSec: state.history[0].imagesPerSecond,
      epochImagesPerSec: trainImages / seconds,
      stepImagesPerSec,
      parts,
      stepKernels: replicaKernels ?? mainKernels,
      mainKernels: replicaKernels ? mainKernels : null,
    };
  } finally {
    await trainer.dispose();
    optimizer.dispose();
    model.dispose();
  }
}
