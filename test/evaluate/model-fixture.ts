/** A saved, untrained model directory for evaluation tests: seeded weights, hand-written metadata. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderModelCard } from '../../src/model/card.ts';
import { saveModel } from '../../src/model/io.ts';
import { METADATA_FORMAT, METADATA_FORMAT_VERSION, type ModelMetadata } from '../../src/model/metadata.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { createSeededModel } from '../../src/train/train.ts';

export function fixtureMetadata(imageSize: number, overrides: Partial<ModelMetadata> = {}): ModelMetadata {
  const counts = { count: 10, sha256: '0'.repeat(64), classCounts: { NORMAL: 5, PNEUMONIA: 5 } };
  return {
    format: METADATA_FORMAT,
    formatVersion: METADATA_FORMAT_VERSION,
    name: 'fixture-model',
    version: '0.0.0',
    architecture: 'reference-cnn',
    createdAt: new Date(0).toISOString(),
    preprocessing: { imageSize, channels: 1, resize: 'stretch', inputRange: [0, 255] },
    classNames: ['NORMAL', 'PNEUMONIA'],
    positiveClass: 'PNEUMONIA',
    threshold: 0.5,
    thresholdRule: 'youden',
    calibration: { method: 'temperature', temperature: 2 },
    seed: 1,
    data: counts,
    versions: { test: '1' },
    ...overrides,
  };
}

/** Saves a seeded reference CNN at `imageSize` into a new temporary folder; the engine must be initialised. */
export async function makeModelDir(imageSize = 24, overrides: Partial<ModelMetadata> = {}): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'cxr-model-')), 'fixture-model');
  const model = createSeededModel(resolveTrainConfig({ architecture: 'reference-cnn', imageSize, seed: 1 }));
  const metadata = fixtureMetadata(imageSize, overrides);
  await saveModel(model, dir, metadata, renderModelCard(metadata));
  model.dispose();
  return dir;
}
