/** A saved, untrained model directory for evaluation tests: seeded weights, hand-written metadata. */
import { renderModelCard } from '../../src/model/card.ts';
import type { ModelMetadata } from '../../src/model/metadata.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { createSeededModel } from '../../src/train/train.ts';
import { saveTestModel, testMetadata } from '../helpers/model-fixture.ts';

/** What differs from the shared test metadata: a calibrated reference CNN with a non-empty data fingerprint. */
function fixtureOverrides(): Partial<ModelMetadata> {
  return {
    name: 'fixture-model',
    version: '0.0.0',
    architecture: 'reference-cnn',
    thresholdRule: 'youden',
    calibration: { method: 'temperature', temperature: 2 },
    data: { count: 10, sha256: '0'.repeat(64), classCounts: { NORMAL: 5, PNEUMONIA: 5 } },
    versions: { test: '1' },
  };
}

export function fixtureMetadata(imageSize: number, overrides: Partial<ModelMetadata> = {}): ModelMetadata {
  return testMetadata(imageSize, { ...fixtureOverrides(), ...overrides });
}

/** Saves a seeded reference CNN at `imageSize` into a new temporary folder; the engine must be initialised. */
export async function makeModelDir(imageSize = 24, overrides: Partial<ModelMetadata> = {}): Promise<string> {
  const saved = await saveTestModel({
    imageSize,
    metadata: { ...fixtureOverrides(), ...overrides },
    model: () => createSeededModel(resolveTrainConfig({ architecture: 'reference-cnn', imageSize, seed: 1 })),
    card: renderModelCard,
    tempPrefix: 'cxr-model-',
    folder: 'fixture-model',
  });
  return saved.dir;
}
