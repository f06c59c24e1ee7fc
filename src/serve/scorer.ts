/**
 * What the server needs from the inference path. `Predictor` (src/predict/predictor.ts) implements it; tests
 * inject fakes to exercise queueing and timeouts deterministically. The server never decodes, reads DICOM or
 * computes Grad-CAM itself: all of that happens behind `predict`.
 */
import type { ModelMetadata } from '../model/metadata.ts';
import type { PredictInput, PredictResult } from '../predict/types.ts';

/** Options the server passes through to the scorer for one call. */
export interface ScoreOptions {
  /** Compute Grad-CAM overlays (`PredictResult.heatmapPng`). */
  heatmaps?: boolean;
  /** Refuse images whose decoded width x height exceeds this. */
  maxPixels?: number;
  /** Images per forward pass. */
  batchSize?: number;
}

export interface Scorer {
  readonly metadata: ModelMetadata;
  /** MODEL_CARD.md contents, or null. */
  readonly modelCard: string | null;
  /** The model's directory, when it was loaded from one: served to browsers that score on the device. */
  readonly dir?: string;
  /** Scores every input; one bad input yields a result with `error`, never a rejection. */
  predict(inputs: PredictInput[], options?: ScoreOptions): Promise<PredictResult[]>;
  dispose(): void;
}
