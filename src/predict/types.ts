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

/**
 * What happened to an input: `scored` (it passed the input gate and has a label), `rejected` (the gate refused
 * it: it does not look like a chest X-ray the model can read; never labelled), `failed` (it could not be read).
 */
export type ResultStatus = 'scored' | 'rejected' | 'failed';

/** The result for one input. */
export interface PredictResult {
  name: string;
  status: ResultStatus;
  /**
   * Why a person must look at it: the gate's plain-language reason for a rejected input (e.g. "does not look
   * like a chest X-ray: colour picture"), the error message for a failed one. Absent for scored inputs.
   */
  reason?: string;
  /**
   * Calibrated P(PNEUMONIA): for scored inputs, and for rejected ones when the model ran on them (shown for
   * transparency only; it is not a triage score).
   */
  probability?: number;
  /** The class at the threshold; scored inputs only (a rejected input is never labelled). */
  label?: 'NORMAL' | 'PNEUMONIA';
  /**
   * 1 = read first. Inputs that need a person come first (rejected, then failed, in input order), then scored
   * ones by probability, highest first.
   */
  rank: number;
  /** The input gate's details: which check refused it, and the learned check's distance when it ran. */
  gate?: { check?: string; distance?: number; threshold?: number };
  /** Grad-CAM overlay as PNG bytes, at the original image's aspect ratio, when heatmaps were asked for. */
  heatmapPng?: Uint8Array;
  /** The Grad-CAM map itself (normalised to [0, 1], model-input grid), when heatmaps were asked for. */
  cam?: ClassActivationMap;
  /** Non-fatal notes (e.g. multi-frame DICOM). Never contains patient identifiers. */
  warnings?: string[];
  /** A clear, identifier-free reason the input could not be read (failed inputs only). */
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
