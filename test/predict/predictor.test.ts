/** The shared inference path: ranking, labels, batching, bad inputs as rows, DICOM parity, heatmaps. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { TTA_VIEWS, zoomView } from '../../src/model/tta.ts';
import { Predictor } from '../../src/predict/predictor.ts';
import type { LazyPredictInput, PredictInput, PredictResult } from '../../src/predict/types.ts';
import { badInputs, dicomFixture } from './bad-inputs.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from './tiny-model.ts';

const IMAGE_SIZE = 32;
const formatFixture = (name: string) =>
  new Uint8Array(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'formats', name)));
let saved: TinyModelDir;
let predictor: Predictor;

/** A small grey PNG with some contrast. */
async function smallPng(width: number, height: number): Promise<Uint8Array> {
  const data = new Uint8Array(width * height).map((_, p) => (p * 37) % 256);
  return new Uint8Array(
    await sharp(data, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer(),
  );
}

/**
 * Grey test images of different brightness patterns, as PNG uploads: 120 × 100, large enough for the input
 * gate's size check (the tiny test model has no learned gate, so only the cheap checks run).
 */
async function gradientImages(count: number): Promise<PredictInput[]> {
  const inputs: PredictInput[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(120 * 100).map(
      (_, p) => ((p % 120) * (i + 1) * 3 + Math.floor(p / 120) * i * 2) % 256,
    );
    const png = await sharp(data, { raw: { width: 120, height: 100, channels: 1 } })
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
      assert.equal(r.status, 'scored', r.reason);
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

  test('every bad input becomes a failed row, ranked first with a clear reason; the rest are scored', async () => {
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
    const failed = results.slice(0, bad.length + 1);
    assert.deepEqual(
      results.slice(bad.length + 1).map((r) => [r.status, r.error]),
      [
        ['scored', undefined],
        ['scored', undefined],
        ['scored', undefined],
      ],
    );
    assert.deepEqual(
      failed.map((r) => r.name),
      [...bad.map((b) => b.name), 'missing.jpeg'],
      'failed inputs come first (they need a person), in input order',
    );
    for (const [i, expected] of bad.entries()) {
      assert.equal(failed[i].status, 'failed');
      assert.equal(failed[i].error?.code, expected.code, expected.name);
      assert.equal(failed[i].reason, failed[i].error!.message);
      assert.ok(failed[i].error!.message.length > 10, expected.name);
      assert.equal(failed[i].probability, undefined);
      assert.equal(failed[i].label, undefined);
      assert.equal(failed[i].rank, 1 + i);
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
      { name: 'scan.dcm', bytes: formatFixture('xray-cr-chest-pa.dcm') },
      { name: 'empty.jpeg', bytes: new Uint8Array(0) },
      { name: 'tiny.dcm', bytes: dicomFixture('multiframe-8bit.dcm') },
      { name: 'icon.png', bytes: await smallPng(40, 30) },
    ];
    const tensors = tf.memory().numTensors;
    const seen: string[] = [];
    const results = await predictor.predict(inputs, {
      heatmaps: true,
      onResult: (r) => void seen.push(r.name),
    });
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(seen.sort(), ['empty.jpeg', 'icon.png', 'scan.dcm', 'tiny.dcm', 'wide.png']);
    const byName = new Map(results.map((r) => [r.name, r]));
    const wide = await sharp(byName.get('wide.png')!.heatmapPng!).metadata();
    assert.deepEqual([wide.format, wide.width, wide.height], ['png', 120, 100]);
    const scan = await sharp(byName.get('scan.dcm')!.heatmapPng!).metadata();
    assert.deepEqual([scan.width, scan.height], [384, 259]);
    assert.equal(byName.get('empty.jpeg')!.heatmapPng, undefined);
    const tiny = await sharp(byName.get('tiny.dcm')!.heatmapPng!).metadata();
    assert.deepEqual([tiny.width, tiny.height], [64, 52]);
    assert.deepEqual(byName.get('tiny.dcm')!.warnings, ['multi-frame DICOM: using frame 1 of 2']);
    // A 40 × 30 image is refused by the gate's size check: no label, no heatmap, its probability kept.
    const icon = byName.get('icon.png')!;
    assert.deepEqual([icon.status, icon.label, icon.heatmapPng], ['rejected', undefined, undefined]);
    assert.match(icon.reason!, /too small/);
    assert.ok(icon.probability !== undefined);
  });

  test('--tta: the mean logit of the views, the same with heatmaps, which explain the image as it is', async () => {
    const inputs = await gradientImages(4);
    const tta = await Predictor.load(saved.dir, { backend: 'wasm', tta: true });
    try {
      assert.equal(tta.tta?.views.length, 3);
      const plain = byName(await predictor.predict(inputs));
      const scored = byName(await tta.predict(inputs));
      const withHeatmaps = byName(await tta.predict(inputs, { heatmaps: true }));
      const plainHeatmaps = byName(await predictor.predict(inputs, { heatmaps: true }));
      // The views' raw outputs, computed independently: the TTA views of the decoded pixels, one model pass each.
      const views = await rawOutputs(inputs, (x) => TTA_VIEWS.map((v) => zoomView(x, v.zoom)));
      for (const input of inputs) {
        const logits = views.get(input.name)!.map((p) => Math.log(p / (1 - p)));
        const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
        const expected = 1 / (1 + Math.exp(-mean / 2)); // temperature 2
        const got = scored.get(input.name)!;
        assert.ok(Math.abs(got.probability! - expected) < 1e-5, `${input.name}`);
        assert.ok(Math.abs(withHeatmaps.get(input.name)!.probability! - got.probability!) < 1e-6);
        assert.notEqual(got.probability, plain.get(input.name)!.probability);
        assert.deepEqual(withHeatmaps.get(input.name)!.cam, plainHeatmaps.get(input.name)!.cam);
      }
    } finally {
      tta.dispose();
    }
  });

  test('an empty list gives an empty result', async () => {
    assert.deepEqual(await predictor.predict([]), []);
  });
});

function byName(results: PredictResult[]): Map<string, PredictResult> {
  return new Map(results.map((r) => [r.name, r]));
}

/** The model's raw sigmoid outputs, computed independently of Predictor (same decode path). */
async function rawOutputs(inputs: PredictInput[]): Promise<Map<string, number>>;
/** The same for several versions of each input (`views` of its [1, S, S, 1] tensor): one output per view. */
async function rawOutputs(
  inputs: PredictInput[],
  views: (x: tf.Tensor4D) => tf.Tensor4D[],
): Promise<Map<string, number[]>>;
async function rawOutputs(
  inputs: PredictInput[],
  views?: (x: tf.Tensor4D) => tf.Tensor4D[],
): Promise<Map<string, number | number[]>> {
  const { decodeResized } = await import('../../src/data/decode.ts');
  const model = seededModel(IMAGE_SIZE);
  const out = new Map<string, number | number[]>();
  for (const input of inputs) {
    const { pixels } = await decodeResized(input.bytes, IMAGE_SIZE);
    const values = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(pixels), [1, IMAGE_SIZE, IMAGE_SIZE, 1]);
      return (views ? views(x) : [x]).map((v) => (model.predict(v) as tf.Tensor).dataSync()[0]);
    });
    out.set(input.name, views ? values : values[0]);
  }
  model.dispose();
  return out;
}
