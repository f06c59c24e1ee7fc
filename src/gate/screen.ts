/**
 * Running the input gate over a set of already loaded images, as `cxr evaluate` and `cxr calibrate` do: the
 * gate refuses what the model should never score, and what it refuses is measured and calibrated on by no one.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ProgressCallback } from '../core/progress.ts';
import type { BadFile } from '../core/types.ts';
import type { GateConfig } from '../model/gate-config.ts';
import { penultimateFeatures } from './fit.ts';
import { type ImageFacts, InputGate } from './gate.ts';

export interface ScreenedImages {
  /** Indices of the images that passed, in input order. */
  kept: number[];
  /** The images refused, with the reason and the check that refused them. */
  rejected: (BadFile & { check?: string })[];
  /** The passed images' pixels, back to back. */
  pixels: Uint8Array;
  /** Why the gate is weaker than it could be (no learned check, turned off). */
  warnings: string[];
  /** Whether the learned check ran. */
  learnedCheck: boolean;
}

/** Judges n images (`facts[i]`, `paths[i]`, model-size pixels back to back) with the model's gate. */
export async function screenImages(options: {
  model: tfl.LayersModel;
  metadata: { gate?: GateConfig };
  facts: readonly ImageFacts[];
  paths: readonly string[];
  pixels: Uint8Array;
  imageSize: number;
  /** Run the learned check when the model has one (default true). */
  learned?: boolean;
  batchSize?: number;
  onFeatures?: ProgressCallback;
}): Promise<ScreenedImages> {
  const { imageSize } = options;
  const gate = InputGate.forModel(options.metadata, { learned: options.learned });
  const features = gate.learned
    ? (
        await penultimateFeatures(options.model, options.pixels, imageSize, {
          batchSize: options.batchSize,
          onProgress: options.onFeatures,
        })
      ).features
    : null;
  const verdicts = gate.judge(options.facts, options.pixels, imageSize, features);
  const area = imageSize * imageSize;
  const kept = verdicts.flatMap((v, i) => (v.passed ? [i] : []));
  const rejected = verdicts.flatMap((v, i) =>
    v.passed ? [] : [{ path: options.paths[i], reason: v.reason ?? 'rejected', check: v.check }],
  );
  const pixels = new Uint8Array(kept.length * area);
  kept.forEach((from, to) => {
    pixels.set(options.pixels.subarray(from * area, (from + 1) * area), to * area);
  });
  return { kept, rejected, pixels, warnings: gate.warnings, learnedCheck: gate.learned !== null };
}
