/**
 * The inference contract shared by `cxr predict` (src/predict) and `cxr serve` (src/serve): one implementation,
 * two thin front ends.
 */

/** One input to score: a name for reporting (a path, or an upload's file name) and its bytes. */
export interface PredictInput {
  name: string;
  bytes: Uint8Array;
}

/** The result for one input. Exactly one of `probability` or `error` is set. */
export interface PredictResult {
  name: string;
  /** Calibrated P(PNEUMONIA). */
  probability?: number;
  label?: 'NORMAL' | 'PNEUMONIA';
  /** 1 = read first. Failed inputs are ranked after all successes. */
  rank: number;
  /** Grad-CAM overlay as PNG bytes, at the original image's aspect ratio, when heatmaps were asked for. */
  heatmapPng?: Uint8Array;
  /** Non-fatal notes (e.g. multi-frame DICOM). Never contains patient identifiers. */
  warnings?: string[];
  /** A clear, identifier-free reason the input could not be scored. */
  error?: { code: string; message: string };
}
