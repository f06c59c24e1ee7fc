/** How numbers and model settings are worded in the app. */
import type { ModelInfo } from './api.ts';

/** 0.8312 → "83.1%" */
export function percent(p: number, digits = 1): string {
  return `${(p * 100).toFixed(digits)}%`;
}

/** Threshold as both a probability and a percentage: "0.420 (42.0%)". */
export function thresholdText(threshold: number): string {
  return `${threshold.toFixed(3)} (${percent(threshold)})`;
}

/** One plain sentence on how probabilities were calibrated. */
export function calibrationText(model: Pick<ModelInfo, 'calibration'>): string {
  const { method, temperature } = model.calibration;
  if (method === 'none' || temperature === 1) {
    return 'Probabilities are the model’s own outputs (no calibration step was applied).';
  }
  return `Probabilities are calibrated by temperature scaling (T = ${temperature.toFixed(3)}, fitted on the validation split).`;
}

/** One plain sentence on the operating threshold. */
export function thresholdSentence(model: Pick<ModelInfo, 'threshold' | 'thresholdRule'>): string {
  return (
    `Label PNEUMONIA at a probability of ${thresholdText(model.threshold)} or more, NORMAL below ` +
    `(threshold rule “${model.thresholdRule}”, chosen on the validation split).`
  );
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
