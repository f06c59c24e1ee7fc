/**
 * Test-time augmentation: the views are the training warp's own zooms, deterministic; the raw outputs are averaged
 * in logit space; the identity alone is plain scoring; feature outputs (the input gate's) are the identity view's;
 * nothing leaks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { seededRandom, withSeededMathRandom } from '../../src/core/random.ts';
import { type AugmentParams, applyAugmentParams } from '../../src/data/augment.ts';
import { IDENTITY } from '../../src/data/shift.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { withFeatures } from '../../src/gate/features.ts';
import { createModel } from '../../src/model/architectures.ts';
import { predictOutputs, predictRawProbabilities } from '../../src/model/infer.ts';
import { describeTta, formatTta, TTA_VIEWS, withTta, zoomView } from '../../src/model/tta.ts';

const SIZE = 24;

function randomPixels(count: number, seed = 5): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: count * SIZE * SIZE }, () => Math.floor(random() * 256));
}

/** Bright discs of different radii on a dark, noisy background: images whose score moves with the zoom. */
function discPixels(count: number): Uint8Array {
  const random = seededRandom(17);
  const c = (SIZE - 1) / 2;
  return Uint8Array.from({ length: count * SIZE * SIZE }, (_, i) => {
    const n = Math.floor(i / (SIZE * SIZE));
    const d = Math.hypot((i % SIZE) - c, (Math.floor(i / SIZE) % SIZE) - c);
    return (d < 3 + n ? 200 : 30) + Math.floor(40 * random());
  });
}

/** The training warp (src/data/augment.ts) with nothing but a zoom, in float precision. */
function trainingZoom(pixels: Uint8Array, index: number, zoom: number): Float32Array {
  const params: AugmentParams = { ...IDENTITY, zoom };
  const out = new Float32Array(SIZE * SIZE);
  applyAugmentParams(pixels, index * SIZE * SIZE, SIZE, params, 'edge', { out, offset: 0 }, () => 0);
  return out;
}

/**
 * Flatten → one sigmoid unit that likes brightness near the centre and dislikes it further out: its output moves
 * with the zoom, far from 0.5.
 */
function tinyModel(): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [SIZE, SIZE, 1] }),
      tfl.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
  });
  const c = (SIZE - 1) / 2;
  const weights = Float32Array.from({ length: SIZE * SIZE }, (_, i) =>
    Math.hypot((i % SIZE) - c, Math.floor(i / SIZE) - c) < 6 ? 0.0002 : -0.0001,
  );
  model.setWeights([tf.tensor2d(weights, [SIZE * SIZE, 1]), tf.tensor1d([-2])]);
  return model;
}

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

before(() => initEngine({ backend: 'wasm' }));

describe('TTA views', () => {
  it('are the training warp`s zooms (edge fill, bilinear about the centre)', () => {
    const pixels = randomPixels(3);
    for (const { zoom } of TTA_VIEWS) {
      const x = tf.tensor4d(Float32Array.from(pixels), [3, SIZE, SIZE, 1]);
      const view = zoomView(x, zoom);
      const got = view.dataSync();
      x.dispose();
      view.dispose();
      for (let n = 0; n < 3; n++) {
        const want = trainingZoom(pixels, n, zoom);
        for (let i = 0; i < want.length; i++) {
          assert.ok(
            Math.abs(got[n * SIZE * SIZE + i] - want[i]) < 1e-3,
            `zoom ${zoom}, image ${n}, pixel ${i}`,
          );
        }
      }
    }
  });

  it('are deterministic, keep the input, and zoom 1 is the image itself', () => {
    const x = tf.tensor4d(Float32Array.from(randomPixels(2)), [2, SIZE, SIZE, 1]);
    const before = x.dataSync().slice();
    const a = zoomView(x, 1.1);
    const b = zoomView(x, 1.1);
    const same = zoomView(x, 1);
    assert.deepEqual(a.dataSync(), b.dataSync());
    assert.notDeepEqual(a.dataSync(), before);
    assert.deepEqual(same.dataSync(), before);
    assert.deepEqual(x.dataSync(), before);
    for (const t of [x, a, b, same]) t.dispose();
  });

  it('zoom in magnifies the centre; zoom out repeats the border', () => {
    // A horizontal ramp 0..230: zooming in flattens it around the centre, zooming out clamps the ends.
    const ramp = Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i % SIZE) * 10);
    const x = tf.tensor4d(ramp, [1, SIZE, SIZE, 1]);
    const zin = zoomView(x, 1.1).dataSync();
    const zout = zoomView(x, 1 / 1.1).dataSync();
    x.dispose();
    assert.ok(zin[0] > ramp[0] && zin[SIZE - 1] < ramp[SIZE - 1]);
    assert.equal(zout[0], 0);
    assert.equal(zout[SIZE - 1], (SIZE - 1) * 10);
    assert.ok(zout[1] < ramp[1]);
  });

  it('refuse non-square or colour batches', () => {
    const x = tf.zeros([1, SIZE, SIZE + 1, 1]) as tf.Tensor4D;
    assert.throws(() => zoomView(x, 1.1), /square grey batches/);
    x.dispose();
  });
});

describe('withTta', () => {
  let model: tfl.LayersModel;
  before(() => {
    model = tinyModel();
  });
  after(() => model.dispose());

  it('with the identity alone is plain scoring', async () => {
    const pixels = randomPixels(5);
    const plain = await predictRawProbabilities(model, pixels, { imageSize: SIZE });
    const identity = withTta(model, [{ name: 'identity', zoom: 1 }]);
    assert.equal(identity, model);
    assert.deepEqual(await predictRawProbabilities(identity, pixels, { imageSize: SIZE }), plain);
  });

  it('averages the views` raw outputs in logit space, not as probabilities', async () => {
    const pixels = discPixels(6);
    const tta = await predictRawProbabilities(withTta(model), pixels, { imageSize: SIZE, batchSize: 4 });
    let logitVsMean = 0;
    for (let n = 0; n < 6; n++) {
      // Each view computed independently: the training warp, then the model.
      const p = TTA_VIEWS.map(({ zoom }) =>
        tf.tidy(() => {
          const x = tf.tensor4d(trainingZoom(pixels, n, zoom), [1, SIZE, SIZE, 1]);
          return (model.predict(x) as tf.Tensor).dataSync()[0];
        }),
      );
      const expected = sigmoid(p.reduce((s, q) => s + logit(q), 0) / p.length);
      assert.ok(Math.abs(tta[n] - expected) < 1e-5, `image ${n}: ${tta[n]} vs ${expected}`);
      logitVsMean = Math.max(logitVsMean, Math.abs(expected - p.reduce((s, q) => s + q, 0) / p.length));
    }
    // The fixture's views disagree enough that a probability mean would be told apart.
    assert.ok(logitVsMean > 1e-3, `views too alike to tell the two means apart (${logitVsMean})`);
  });

  it('does not depend on the batch size and keeps the output shape', async () => {
    const pixels = randomPixels(5, 3);
    const scorer = withTta(model);
    const one = await predictRawProbabilities(scorer, pixels, { imageSize: SIZE, batchSize: 1 });
    const all = await predictRawProbabilities(scorer, pixels, { imageSize: SIZE, batchSize: 5 });
    for (const [i, p] of one.entries()) assert.ok(Math.abs(p - all[i]) < 1e-6);
    const x = tf.zeros([2, SIZE, SIZE, 1]) as tf.Tensor4D;
    const [y] = scorer.predict(x) as tf.Tensor[];
    assert.deepEqual(y.shape, [2, 1]);
    tf.dispose([x, y]);
  });

  it('takes the input gate`s features from the identity view only', async () => {
    const net = withSeededMathRandom(3, () => createModel('default', { imageSize: SIZE }));
    const features = withFeatures(net);
    const pixels = randomPixels(4, 21);
    const plain = await predictOutputs(features.model, pixels, { imageSize: SIZE });
    const tta = await predictOutputs(withTta(features.model), pixels, { imageSize: SIZE });
    assert.equal(tta.length, plain.length);
    assert.ok(plain.length >= 2);
    for (let k = 1; k < plain.length; k++) assert.deepEqual(tta[k], plain[k], `feature output ${k}`);
    // Raw outputs of a fresh default model sit near 0.5, so compare in logits: they do move with TTA.
    assert.ok(tta[0].some((p, i) => Math.abs(logit(p) - logit(plain[0][i])) > 1e-6));
    net.dispose();
  });

  it('leaks no tensor', async () => {
    const scorer = withTta(model);
    await predictRawProbabilities(scorer, randomPixels(3), { imageSize: SIZE }); // warm-up (kernels, caches)
    const before = tf.memory().numTensors;
    await predictOutputs(scorer, randomPixels(7), { imageSize: SIZE, batchSize: 3 });
    const x = tf.zeros([2, SIZE, SIZE, 1]) as tf.Tensor4D;
    const outputs = scorer.predict(x);
    tf.dispose(outputs);
    x.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('refuses views without the identity, and bad zooms', () => {
    assert.throws(() => withTta(model, [{ name: 'zoom-in', zoom: 1.1 }]), /must include the identity/);
    assert.throws(
      () =>
        withTta(model, [
          { name: 'identity', zoom: 1 },
          { name: 'flat', zoom: 0 },
        ]),
      /zoom must be > 0/,
    );
  });

  it('describes itself for reports', () => {
    const description = describeTta();
    assert.equal(description.combine, 'mean-logit');
    assert.deepEqual(
      description.views.map((v) => v.name),
      ['identity', 'zoom-in', 'zoom-out'],
    );
    assert.equal(formatTta(description), 'mean logit of 3 views (identity, zoom-in ×1.1, zoom-out ×0.909)');
  });
});
