import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { calibrate, imageCount, predictRawProbabilities, scorePixels } from '../../src/model/infer.ts';
import { loadModel, saveModel } from '../../src/model/io.ts';
import { resolveTrainConfig } from '../../src/train/config.ts';
import { createSeededModel } from '../../src/train/train.ts';
import { fixtureMetadata, makeModelDir } from '../evaluate/model-fixture.ts';

const SIZE = 24;
let dirs: string[] = [];

function randomPixels(count: number): Uint8Array {
  const random = seededRandom(4);
  return Uint8Array.from({ length: count * SIZE * SIZE }, () => Math.floor(random() * 256));
}

before(() => initEngine({ backend: 'wasm' }));
after(async () => {
  for (const d of dirs) await rm(path.dirname(d), { recursive: true, force: true });
  dirs = [];
});

describe('scoring packed pixels', () => {
  it('gives identical predictions after save and load (default architecture, batch norm included)', async () => {
    const config = resolveTrainConfig({ architecture: 'default', imageSize: SIZE, seed: 3 });
    const model = createSeededModel(config);
    const pixels = randomPixels(10);
    const before = await predictRawProbabilities(model, pixels, { imageSize: SIZE, batchSize: 4 });
    const dir = await makeModelDir(SIZE);
    dirs.push(dir);
    await saveModel(model, dir, fixtureMetadata(SIZE, { architecture: 'default' }));
    model.dispose();
    const loaded = await loadModel(dir);
    const afterLoad = await predictRawProbabilities(loaded.model, pixels, { imageSize: SIZE, batchSize: 7 });
    loaded.model.dispose();
    assert.deepEqual(afterLoad, before);
  });

  it('applies the metadata temperature and does not depend on the batch size', async () => {
    const dir = await makeModelDir(SIZE);
    dirs.push(dir);
    const { model, metadata } = await loadModel(dir);
    const pixels = randomPixels(9);
    const raw = await predictRawProbabilities(model, pixels, { imageSize: SIZE, batchSize: 9 });
    const progress: number[] = [];
    const calibrated = await scorePixels(model, metadata, pixels, {
      batchSize: 4,
      onProgress: (done) => progress.push(done),
    });
    model.dispose();
    assert.deepEqual(progress, [0, 4, 8, 9]);
    raw.forEach((p, i) => {
      assert.ok(Math.abs(calibrated[i] - calibrate(p, metadata.calibration)) < 1e-6);
    });
  });

  it('refuses a pixel array that is not whole images', () => {
    assert.throws(
      () => imageCount(new Uint8Array(SIZE * SIZE + 1), SIZE),
      /not a whole number of 24² images/,
    );
  });
});

describe('calibrate', () => {
  it('applies temperature and Platt scaling to the logit of the raw output', () => {
    const logit = Math.log(0.8 / 0.2);
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    assert.ok(
      Math.abs(calibrate(0.8, { method: 'temperature', temperature: 2 }) - sigmoid(logit / 2)) < 1e-12,
    );
    assert.ok(
      Math.abs(calibrate(0.8, { method: 'platt', a: 0.5, b: -1 }) - sigmoid(0.5 * logit - 1)) < 1e-12,
    );
    // Platt with a = 1/T and b = 0 is temperature scaling.
    assert.ok(
      Math.abs(
        calibrate(0.3, { method: 'platt', a: 0.5, b: 0 }) -
          calibrate(0.3, { method: 'temperature', temperature: 2 }),
      ) < 1e-12,
    );
    assert.equal(calibrate(0.8, { method: 'none' }), 0.8);
  });

  it('keeps outputs of 0 and 1 finite and inside (0, 1)', () => {
    const low = calibrate(0, { method: 'platt', a: 2, b: 0.5 });
    const high = calibrate(1, { method: 'platt', a: 2, b: 0.5 });
    assert.ok(low > 0 && low < 1e-10, `${low}`);
    assert.ok(high < 1 && high > 1 - 1e-10, `${high}`);
  });
});
