/** How numbers and model settings are worded in the app (probabilities and flags: src/core/format.ts). */
import { formatProbability, thresholdSentence as sentence } from '../core/format.ts';
import type { ModelInfo } from './api.ts';

export { flagText, formatProbability, formatRate } from '../core/format.ts';

/** A probability for display: ">99%" / "<1%" at the ends. */
export function percent(p: number, digits = 1): string {
  return formatProbability(p, digits);
}

/** One plain sentence on how probabilities were calibrated (the model page). */
export function calibrationText(model: Pick<ModelInfo, 'calibration' | 'recalibration'>): string {
  const { method, temperature, a, b } = model.calibration;
  if (method === 'none' || (method === 'temperature' && temperature === 1)) {
    return 'Probabilities are the model’s own outputs (no calibration step was applied).';
  }
  const images = model.recalibration?.n;
  const where =
    typeof images === 'number'
      ? `refitted on ${images} local images by cxr calibrate`
      : 'fitted on the validation split';
  const fixed = (x: number | undefined) => (x ?? Number.NaN).toFixed(3);
  return method === 'platt'
    ? `Probabilities are calibrated by Platt scaling (a = ${fixed(a)}, b = ${fixed(b)}, ${where}).`
    : `Probabilities are calibrated by temperature scaling (T = ${fixed(temperature)}, ${where}).`;
}

/** Validation sensitivity at the stored threshold, when the model carries it. */
export function validationSensitivity(model: Pick<ModelInfo, 'metrics'>): number | undefined {
  const value = model.metrics?.sensitivity;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** "Flagged at ≥ 65.9%. On validation images this caught 95% of pneumonia." */
export function thresholdSentence(model: Pick<ModelInfo, 'threshold' | 'metrics'>): string {
  return sentence(model.threshold, validationSensitivity(model));
}

/** "1.2 MB", "340 KB" */
export function fileSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** A metric value for display: numbers to 3 decimals, integers as they are, anything else as short text. */
export function metricValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value);
}
