/**
 * Fitting the input gate for a trained model: its penultimate features for the training and validation images
 * (one forward pass each, src/gate/features.ts), then the learned check (src/gate/learned.ts). Training calls
 * it in its finalize step; `cxr gate` calls it for an existing model directory. Browser-safe.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ProgressCallback } from '../core/progress.ts';
import type { GateConfig } from '../model/gate-config.ts';
import { predictOutputs } from '../model/infer.ts';
import { concatFeatures, withFeatures } from './features.ts';
import { fitLearnedCheck } from './learned.ts';

export interface GateFitData {
  /** Square model input side. */
  imageSize: number;
  /** Training images' model-size grey pixels, back to back (what the learned check is fitted on). */
  train: Uint8Array;
  /** Validation images' pixels (they only help set the threshold). */
  validation: Uint8Array;
  trainSha256?: string;
  validationSha256?: string;
  /** The command line that made it, for the record. */
  command?: string;
}

/** The penultimate features of packed images, n × featureSize. */
export async function penultimateFeatures(
  model: tfl.LayersModel,
  pixels: Uint8Array,
  imageSize: number,
  options: { batchSize?: number; onProgress?: ProgressCallback } = {},
): Promise<{ features: Float32Array; featureSize: number }> {
  const wrapped = withFeatures(model);
  const n = pixels.length / (imageSize * imageSize);
  const outputs = await predictOutputs(wrapped.model, pixels, { imageSize, ...options });
  if (n === 0) return { features: new Float32Array(0), featureSize: wrapped.featureSize };
  return { features: concatFeatures(outputs.slice(1), wrapped.widths, n), featureSize: wrapped.featureSize };
}

/** Fits the gate (cheap checks need no fitting; this is the learned check) and returns `metadata.gate`. */
export async function fitGate(
  model: tfl.LayersModel,
  data: GateFitData,
  options: { batchSize?: number; onProgress?: ProgressCallback } = {},
): Promise<GateConfig> {
  const trainCount = data.train.length / (data.imageSize * data.imageSize);
  const total = trainCount + data.validation.length / (data.imageSize * data.imageSize);
  const train = await penultimateFeatures(model, data.train, data.imageSize, {
    batchSize: options.batchSize,
    onProgress: (done) => options.onProgress?.(done, total),
  });
  const validation = await penultimateFeatures(model, data.validation, data.imageSize, {
    batchSize: options.batchSize,
    onProgress: (done) => options.onProgress?.(trainCount + done, total),
  });
  const learned = fitLearnedCheck({
    train: { features: train.features, pixels: data.train },
    validation: { features: validation.features, pixels: data.validation },
    featureSize: train.featureSize,
    imageSize: data.imageSize,
    fittedOn: {
      ...(data.trainSha256 ? { trainSha256: data.trainSha256 } : {}),
      ...(data.validationSha256 ? { validationSha256: data.validationSha256 } : {}),
    },
  });
  return {
    format: 'pneumoscope-gate',
    version: 1,
    createdAt: new Date().toISOString(),
    learned,
    ...(data.command ? { command: data.command } : {}),
  };
}
