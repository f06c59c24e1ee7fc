/** The shared inference path: ranking, labels, batching, bad inputs as rows, DICOM parity, heatmaps. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { Predictor } from '../../src/predict/predictor.ts';
import type { LazyPredictInput, PredictInput } from '../../src/predict/types.ts';
import { badInputs, dicomFixture } from './bad-inputs.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from './tiny-model.ts';

const IMAGE_SIZE = 32;
let saved: TinyModelDir;
let predictor: Predictor;

/** Grey test images of different brightness patterns, as PNG uploads. */
async function gradientImages(count: number): Promise<PredictInput[]> {
  const inputs: PredictInput[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(48 * 40).map(
      (_, p) => ((p % 48) * (i + 1) * 7 + Math.floor(p / 48) * i * 3) % 256,
    );
    const png = await sharp(data, { raw: { width: 48, height: 40, channels: 1 } })
      .png()
      .toBuffer();
    inputs.push({ name: `image-${i}.png`, bytes: new Uint8Array(png) });
  }
  return inputs;
}

describe('Predictor', () => {
  before(async () => {
    saved = await saveTinyModel({
      backend: 'wasm',
      imageSize: IMAGE_SIZE,
      model: seededModel,
      metadata: { threshold: 0.16, calibration: { method: 'temperature', temperature: 2 } },
    });
    predictor = await Predictor.load(saved.dir, { backend: 'wasm' });
  });

  after(async () => {
    predictor.dispose();
    await saved.cleanup();
  });

  test('ranks by calibrated probability, highest first, and labels at the stored threshold', async () => {
    const inputs = await gradientImages(7);
    const results = await predictor.predict(inputs, { batchSize: 3 });
    assert.equal(results.length, 7);
    assert.deepEqual(
      results.map((r) => r.rank),
      [1, 2, 3, 4, 5, 6, 7],
    );
    for (let i = 1; i < results.length; i++)
      assert.ok(results[i - 1].probability! >= results[i].probability!);
    for (const r of results) {
      assert.equal(r.label, r.probability! >= 0.16 ? 'PNEUMONIA' : 'NORMAL');
      assert.equal(r.error, undefined);
    }
    // The calibrated probability is the raw output passed through temperature scaling.
    const raw = await rawOutputs(inputs);
    for (const r of results) {
      const p = raw.get(r.name)!;
      const expected = 1 / (1 + Math.exp(-Math.log(p / (1 - p)) / 2));
      assert.ok(Math.abs(r.probability! - expected) < 1e-5);
    }
  });

  test('batch size does not change the results; --threshold overrides the stored one', async () => {
    const inputs = await gradientImages(5);
    const one = await predictor.predict(inputs, { batchSize: 1 });
    const all = await predictor.predict(inputs, { batchSize: 32, threshold: 1 });
    assert.deepEqual(
      one.map((r) => r.name),
      all.map((r) => r.name),
    );
    for (let i = 0; i < one.length; i++)
      assert.ok(Math.abs(one[i].probability! - all[i].probability!) < 1e-5);
    assert.ok(all.every((r) => r.label === 'NORMAL'));
  });

  test('every bad input becomes a ranked-last row with a clear error; the rest are scored', async () => {
    const good = await gradientImages(3);
    const bad = badInputs();
    const missing: LazyPredictInput = {
      name: 'missing.jpeg',
      read: () => Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })),
    };
    const mixed = [bad[0], good[0], ...bad.slice(1, 4), good[1], ...bad.slice(4), good[2], missing];
    const progress: number[] = [];
    const results = await predictor.predict(mixed, {
      batchSize: 4,
      onProgress: (done) => progress.push(done),
    });
    assert.equal(results.length, mixed.length);
    assert.deepEqual(
      results.slice(0, 3).map((r) => r.error),
      [undefined, undefined, undefined],
    );
    const failed = results.slice(3);
    assert.deepEqual(
      failed.map((r) => r.name),
      [...bad.map((b) => b.name), 'missing.jpeg'],
      'failed inputs keep their input order after the scored ones',
    );
    for (const [i, expected] of bad.entries()) {
      assert.equal(failed[i].error?.code, expected.code, expected.name);
      assert.ok(failed[i].error!.message.length > 10, expected.name);
      assert.equal(failed[i].probability, undefined);
      assert.equal(failed[i].rank, 4 + i);
    }
    assert.match(failed.at(-1)!.error!.message, /no such file/);
    assert.equal(progress.at(-1), mixed.length);
    assert.match(failed.find((r) => r.name === 'bomb.png')!.error!.message, /pixel limit/);
  });

  test('a DICOM and the JPEG it was made from get the same probability (within 0.02)', async () => {
    const names = [
      'source-a.jpeg',
      'jpeg-baseline.dcm',
      'explicit-8bit.dcm',
      'implicit-8bit.dcm',
      'jpeg-lossless-16bit.dcm',
    ];
    const extra = [
      'signed-rescale-window-16bit.dcm',
      'bigendian-16bit.dcm',
      'rgb-8bit.dcm',
      'monochrome1-8bit.dcm',
    ];
    const inputs = [...names, ...extra].map((name) => ({ name, bytes: dicomFixture(name) }));
    const results = await predictor.predict(inputs);
    const p = new Map(results.map((r) => [r.name, r.probability!]));
    const jpeg = p.get('source-a.jpeg')!;
    for (const name of [...names, ...extra.slice(0, 3)]) {
      assert.ok(Math.abs(p.get(name)! - jpeg) < 0.02, `${name}: ${p.get(name)} vs JPEG ${jpeg}`);
    }
    // The tolerance means something: monochrome1-8bit.dcm holds the same stored pixels marked MONOCHROME1, so
    // it decodes to the negative of the picture, and that scores well apart.
    assert.ok(
      Math.abs(p.get('monochrome1-8bit.dcm')! - jpeg) > 0.04,
      `${p.get('monochrome1-8bit.dcm')} vs ${jpeg}`,
    );
  });

  test('heatmaps: a PNG per scored input at the original aspect ratio, no tensors left behind', async () => {
    const inputs = [
      { name: 'wide.png', bytes: (await gradientImages(1))[0].bytes },
      { name: 'scan.dcm', bytes: dicomFixture('multiframe-8bit.dcm') },
      { name: 'empty.jpeg', bytes: new Uint8Array(0) },
    ];
    const tensors = tf.memory().numTensors;
    const seen: string[] = [];
    const results = await predictor.predict(inputs, {
      heatmaps: true,
      onResult: (r) => void seen.push(r.name),
    });
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(seen.sort(), ['empty.jpeg', 'scan.dcm', 'wide.png']);
    const byName = new Map(results.map((r) => [r.name, r]));
    const wide = await sharp(byName.get('wide.png')!.heatmapPng!).metadata();
    assert.deepEqual([wide.format, wide.width, wide.height], ['png', 48, 40]);
    const scan = await sharp(byName.get('scan.dcm')!.heatmapPng!).metadata();
    assert.deepEqual([scan.width, scan.height], [64, 52]);
    assert.deepEqual(byName.get('scan.dcm')!.warnings, ['multi-frame DICOM: using frame 1 of 2']);
    assert.equal(byName.get('empty.jpeg')!.heatmapPng, undefined);
  });

  test('an empty list gives an empty result', async () => {
    assert.deepEqual(await predictor.predict([]), []);
  });
});

/** The model's raw sigmoid outputs, computed independently of Predictor (same decode path). */
async function rawOutputs(inputs: PredictInput[]): Promise<Map<string, number>> {
  const { decodeResized } = await import('../../src/data/decode.ts');
  const model = seededModel(IMAGE_SIZE);
  const out = new Map<string, number>();
  for (const input of inputs) {
    const { pixels } = await decodeResized(input.bytes, IMAGE_SIZE);
    const value = tf.tidy(() =>
      (
        model.predict(tf.tensor4d(Float32Array.from(pixels), [1, IMAGE_SIZE, IMAGE_SIZE, 1])) as tf.Tensor
      ).dataSync(),
    )[0];
    out.set(input.name, value);
  }
  model.dispose();
  return out;
}
