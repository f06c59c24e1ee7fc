/**
 * After the last epoch: restore the best epoch's weights, fit the temperature and choose the threshold on
 * validation, and measure the validation metrics (with bootstrap CIs) that go into metadata.json.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../core/random.ts';
import { fitTemperature, probabilityToLogit } from '../metrics/calibration.ts';
import { computeMetrics, type EvaluationMetrics } from '../metrics/summary.ts';
import { type ChosenThreshold, chooseThreshold, type ThresholdRule } from '../metrics/threshold.ts';
import { calibrateAll, predictRawProbabilities } from '../model/infer.ts';
import type { TemperatureCalibration } from '../model/metadata.ts';
import type { PixelSet } from './batches.ts';

export interface OperatingPoint {
  calibration: TemperatureCalibration;
  threshold: ChosenThreshold;
  /** Validation metrics at the chosen threshold, on calibrated probabilities. */
  metrics: EvaluationMetrics;
  /** Calibrated validation probabilities (for the report). */
  probabilities: Float32Array;
}

/** Copies `weights` (from `snapshotWeights`) into the model. */
export function restoreWeights(model: tfl.LayersModel, weights: tf.Tensor[]): void {
  model.setWeights(weights);
}

export async function chooseOperatingPoint(options: {
  model: tfl.LayersModel;
  val: PixelSet;
  imageSize: number;
  rule: ThresholdRule;
  seed: number;
  bootstrapSamples?: number;
  batchSize?: number;
}): Promise<OperatingPoint> {
  const { val } = options;
  const raw = await predictRawProbabilities(options.model, val.pixels, {
    imageSize: options.imageSize,
    batchSize: options.batchSize,
  });
  const logits = Float64Array.from(raw, probabilityToLogit);
  const calibration: TemperatureCalibration = {
    method: 'temperature',
    temperature: fitTemperature(val.labels, logits),
  };
  const probabilities = Float32Array.from(calibrateAll(raw, calibration));
  const threshold = chooseThreshold(val.labels, probabilities, options.rule);
  const metrics = computeMetrics({
    labels: val.labels,
    probabilities,
    threshold: threshold.threshold,
    bootstrapSamples: options.bootstrapSamples,
    seed: deriveSeed(options.seed, 'bootstrap'),
  });
  return { calibration, threshold, metrics, probabilities };
}
