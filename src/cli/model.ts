/** Loading the model for a command: one clear message for a missing or unreadable model directory. */
import { existsSync } from 'node:fs';
import { Predictor, type PredictorLoadOptions } from '../predict/predictor.ts';
import { CliError } from './errors.ts';

export async function loadPredictor(dir: string, options: PredictorLoadOptions): Promise<Predictor> {
  if (!existsSync(dir)) {
    throw new CliError(
      `model directory ${dir} does not exist; train one with \`cxr train\` or pass --model DIR`,
    );
  }
  try {
    return await Predictor.load(dir, options);
  } catch (err) {
    throw new CliError(`cannot load model from ${dir}: ${(err as Error).message}`);
  }
}
