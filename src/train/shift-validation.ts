/**
 * The shift suite on a trained model: the validation images re-rendered by every shift of src/data/shift.ts,
 * scored with the model's calibration and judged at its threshold. It goes into metadata.json as the `shift`
 * evaluation record beside the plain validation numbers, so the model card shows how the model reacts to
 * framing, contrast, sharpness and noise it was not validated on.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyShift, SHIFT_SUITE } from '../data/shift.ts';
import { shiftEvaluationRecord } from '../model/evaluations.ts';
import { calibrateAll, predictRawProbabilities } from '../model/infer.ts';
import type { CalibrationConfig, EvaluationRecord } from '../model/metadata.ts';
import type { PixelSet } from './batches.ts';

export async function shiftValidation(options: {
  model: tfl.LayersModel;
  val: PixelSet;
  imageSize: number;
  calibration: CalibrationConfig;
  threshold: number;
  seed: number;
  bootstrapSamples?: number;
}): Promise<EvaluationRecord> {
  const { val, imageSize } = options;
  const shifts = [];
  for (const shift of SHIFT_SUITE) {
    const pixels = applyShift(val.pixels, imageSize, shift, options.seed);
    const raw = await predictRawProbabilities(options.model, pixels, { imageSize });
    shifts.push({
      name: shift.name,
      description: shift.description,
      labels: val.labels,
      probabilities: calibrateAll(raw, options.calibration),
    });
  }
  return shiftEvaluationRecord({
    shifts,
    threshold: options.threshold,
    seed: options.seed,
    bootstrapSamples: options.bootstrapSamples,
  });
}
