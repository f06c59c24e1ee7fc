/** Test helper: a small random-weight model saved with valid metadata in a temporary directory. */
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import type { ModelMetadata } from '../../src/model/metadata.ts';
import { type SavedTestModel, saveTestModel } from '../helpers/model-fixture.ts';

export type TinyModelDir = SavedTestModel;

/**
 * Saves `model` (default: the default architecture at 32 px, random weights) to a fresh temp directory.
 * Initialises the engine on `backend` first.
 */
export async function saveTinyModel(
  options: {
    backend?: 'cpu' | 'wasm';
    imageSize?: number;
    /** Builds the model to save (called after the engine is initialised). */
    model?: (imageSize: number) => tfl.LayersModel;
    metadata?: Partial<ModelMetadata>;
  } = {},
): Promise<TinyModelDir> {
  await initEngine({ backend: options.backend ?? 'cpu' });
  return saveTestModel({
    imageSize: options.imageSize,
    model: options.model,
    metadata: options.metadata,
    tempPrefix: 'cxr-predict-test-',
  });
}

/**
 * A small CNN with seeded weights whose output moves clearly with image content (unlike a freshly initialised
 * default model, whose outputs all sit near 0.5): for tests that compare probabilities across inputs.
 */
export function seededModel(imageSize: number): tfl.LayersModel {
  const init = (seed: number, stddev = 0.3) => tfl.initializers.randomNormal({ mean: 0, stddev, seed });
  return tfl.sequential({
    layers: [
      tfl.layers.rescaling({ scale: 1 / 127.5, offset: -1, inputShape: [imageSize, imageSize, 1] }),
      tfl.layers.conv2d({
        filters: 8,
        kernelSize: 5,
        strides: 2,
        activation: 'relu',
        kernelInitializer: init(7),
      }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(8) }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(9, 1) }),
    ],
  });
}
