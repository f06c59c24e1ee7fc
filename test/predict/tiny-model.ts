/** Test helper: a small random-weight model saved with valid metadata in a temporary directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import { createModel } from '../../src/model/architectures.ts';
import { saveModel } from '../../src/model/io.ts';
import { METADATA_FORMAT, METADATA_FORMAT_VERSION, type ModelMetadata } from '../../src/model/metadata.ts';

export function tinyMetadata(imageSize: number, overrides: Partial<ModelMetadata> = {}): ModelMetadata {
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_FORMAT_VERSION,
    name: 'tiny-test-model',
    version: '0.0.0-test',
    architecture: 'default',
    createdAt: new Date(0).toISOString(),
    preprocessing: { imageSize, channels: 1, resize: 'stretch', inputRange: [0, 255] },
    classNames: ['NORMAL', 'PNEUMONIA'],
    positiveClass: 'PNEUMONIA',
    threshold: 0.5,
    thresholdRule: 'test',
    calibration: { method: 'none', temperature: 1 },
    seed: 1,
    data: { count: 0, sha256: '', classCounts: { NORMAL: 0, PNEUMONIA: 0 } },
    versions: {},
    ...overrides,
  };
}

export interface TinyModelDir {
  dir: string;
  metadata: ModelMetadata;
  cleanup(): Promise<void>;
}

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
  const imageSize = options.imageSize ?? 32;
  const model = options.model ? options.model(imageSize) : createModel('default', { imageSize });
  const root = await mkdtemp(path.join(os.tmpdir(), 'cxr-predict-test-'));
  const dir = path.join(root, 'model');
  const metadata = tinyMetadata(imageSize, options.metadata);
  await saveModel(model, dir, metadata);
  model.dispose();
  return { dir, metadata, cleanup: () => rm(root, { recursive: true, force: true }) };
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
