/**
 * The inference contract shared by `cxr predict` (src/predict) and `cxr serve` (src/serve): one implementation,
 * two thin front ends.
 */
import type { ClassActivationMap } from '../explain/gradcam.ts';

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
  /** The Grad-CAM map itself (normalised to [0, 1], model-input grid), when heatmaps were asked for. */
  cam?: ClassActivationMap;
  /** Non-fatal notes (e.g. multi-frame DICOM). Never contains patient identifiers. */
  warnings?: string[];
  /** A clear, identifier-free reason the input could not be scored. */
  error?: { code: string; message: string };
}

/**
 * An input whose bytes are read only when it is about to be scored, so a folder of thousands of full-resolution
 * images never sits in memory at once. `read` rejects (e.g. with a DecodeError 'unreadable') when it cannot.
 */
export interface LazyPredictInput {
  name: string;
  read(): Promise<Uint8Array>;
}

/** Anything `Predictor.predict` accepts: bytes already in memory (uploads) or a lazy file. */
export type PredictSource = PredictInput | LazyPredictInput;

/** Options for one `Predictor.predict` call. */
export interface PredictOptions {
  /** Also render a Grad-CAM overlay PNG per input (slower: one backward pass per batch). */
  heatmaps?: boolean;
  /** Overrides the model's stored operating threshold for `label`. */
  threshold?: number;
  /** Refuse images with more decoded pixels than this (decompression bombs). */
  maxPixels?: number;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** Called as inputs finish: `done` of `total`. A `ProgressCallback` (src/core/progress.ts). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once per input as soon as it is scored, before ranking (`rank` is 0 here). A caller with many inputs
   * may take the heatmap bytes (write them out, then delete `heatmapPng`) so they do not pile up in memory.
   */
  onResult?: (result: PredictResult) => void | Promise<void>;
}
