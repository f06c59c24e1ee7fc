/**
 * Shared builder for the small models that tests and benchmarks save to disk: one place that writes a valid
 * `ModelMetadata`, with the preprocessing taken from the architecture registry as `cxr train` takes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createModel, preprocessingFor } from '../../src/model/architectures.ts';
import { saveModel } from '../../src/model/io.ts';
import { METADATA_FORMAT, METADATA_FORMAT_VERSION, type ModelMetadata } from '../../src/model/metadata.ts';

/**
 * Valid metadata for an untrained model at `imageSize`: default architecture, threshold 0.5, no calibration,
 * empty data fingerprint. Fixtures override only what they need to display or check.
 */
export function testMetadata(imageSize: number, overrides: Partial<ModelMetadata> = {}): ModelMetadata {
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_FORMAT_VERSION,
    name: 'tiny-test-model',
    version: '0.0.0-test',
    architecture: 'default',
    createdAt: new Date(0).toISOString(),
    preprocessing: preprocessingFor(overrides.architecture ?? 'default', imageSize),
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

/** A model saved by `saveTestModel`. */
export interface SavedTestModel {
  /** The model directory (model.json, weights, metadata.json and, if given, the model card). */
  dir: string;
  metadata: ModelMetadata;
  /** Removes what `saveTestModel` created (the temporary folder, or `dir` when the caller chose it). */
  cleanup(): Promise<void>;
}

export interface SaveTestModelOptions {
  /** Input side in pixels (default 32). */
  imageSize?: number;
  /** Fields that differ from `testMetadata`'s defaults. */
  metadata?: Partial<ModelMetadata>;
  /** Builds the model to save; default: a randomly initialised `metadata.architecture` at `imageSize`. */
  model?: (imageSize: number) => tfl.LayersModel;
  /** Model card markdown, or a function of the final metadata; none when left out. */
  card?: string | ((metadata: ModelMetadata) => string);
  /** Where to save; default: `<new temporary folder>/<folder>`. */
  dir?: string;
  /** Prefix of the temporary folder's name (default `cxr-test-model-`). */
  tempPrefix?: string;
  /** Name of the model folder inside the temporary folder (default `model`). */
  folder?: string;
}

/** Builds and saves a small model with test metadata; the engine must already be initialised. */
export async function saveTestModel(options: SaveTestModelOptions = {}): Promise<SavedTestModel> {
  const imageSize = options.imageSize ?? 32;
  const metadata = testMetadata(imageSize, options.metadata);
  const root = options.dir
    ? undefined
    : await mkdtemp(path.join(os.tmpdir(), options.tempPrefix ?? 'cxr-test-model-'));
  const dir = options.dir ?? path.join(root!, options.folder ?? 'model');
  const model = options.model ? options.model(imageSize) : createModel(metadata.architecture, { imageSize });
  const card = typeof options.card === 'function' ? options.card(metadata) : options.card;
  try {
    await saveModel(model, dir, metadata, card);
  } finally {
    model.dispose();
  }
  return { dir, metadata, cleanup: () => rm(root ?? dir, { recursive: true, force: true }) };
}
