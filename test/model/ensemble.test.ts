/**
 * An ensemble is one TF.js model: its output must be sigmoid(mean of the members' calibrated logits), it must
 * save and load like any model, fold its batch norms, and Grad-CAM must explain every member.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { withSeededMathRandom } from '../../src/core/random.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { findGradCamTargets, gradCam } from '../../src/explain/gradcam.ts';
import { createModel } from '../../src/model/architectures.ts';
import { combineMembers, memberPrefix } from '../../src/model/ensemble.ts';
import { foldBatchNorm } from '../../src/model/fold-batchnorm.ts';
import { loadModel } from '../../src/model/io.ts';
import { saveTestModel } from '../helpers/model-fixture.ts';

const SIZE = 32;

function member(seed: number): tfl.LayersModel {
  return withSeededMathRandom(seed, () => createModel('default', { imageSize: SIZE }));
}

function logits(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const p = model.predict(x) as tf.Tensor;
    return tf.log(tf.div(p, tf.sub(1, p))).dataSync() as Float32Array;
  });
}

describe('ensemble of members as one model', () => {
  let members: tfl.LayersModel[];
  let ensemble: tfl.LayersModel;
  let x: tf.Tensor4D;
  const temperatures = [1.5, 0.8, 1.1];

  before(async () => {
    await initEngine({ backend: 'cpu' });
    members = [member(1), member(2), member(3)];
    ensemble = await combineMembers(members.map((model, i) => ({ model, temperature: temperatures[i] })));
    x = tf.randomUniform([4, SIZE, SIZE, 1], 0, 255, 'float32', 7) as tf.Tensor4D;
  });
  after(() => {
    for (const m of [...members, ensemble]) m.dispose();
    x.dispose();
  });

  it('outputs sigmoid of the mean calibrated logit', () => {
    const perMember = members.map((m, i) => logits(m, x).map((z) => z / temperatures[i]));
    const got = tf.tidy(() => (ensemble.predict(x) as tf.Tensor).dataSync());
    for (let n = 0; n < 4; n++) {
      const mean = perMember.reduce((s, z) => s + z[n], 0) / perMember.length;
      assert.ok(Math.abs(got[n] - 1 / (1 + Math.exp(-mean))) < 1e-5, `image ${n}`);
    }
  });

  it('names each member`s layers with its prefix and keeps one input', () => {
    assert.equal(ensemble.inputs.length, 1);
    for (let i = 0; i < 3; i++) assert.ok(ensemble.getLayer(`${memberPrefix(i)}stem_conv`));
  });

  it('saves, loads and predicts the same', async () => {
    const saved = await saveTestModel({ model: () => ensemble, imageSize: SIZE });
    try {
      // saveTestModel disposes the model it saved: rebuild it for the remaining tests.
      ensemble = await combineMembers(members.map((model, i) => ({ model, temperature: temperatures[i] })));
      const loaded = await loadModel(saved.dir);
      const a = tf.tidy(() => (ensemble.predict(x) as tf.Tensor).dataSync());
      const b = tf.tidy(() => (loaded.model.predict(x) as tf.Tensor).dataSync());
      assert.deepEqual(Array.from(b), Array.from(a));
      loaded.model.dispose();
    } finally {
      await saved.cleanup();
    }
  });

  it('folds batch norms without changing outputs', () => {
    const folded = foldBatchNorm(ensemble).model;
    const a = tf.tidy(() => (ensemble.predict(x) as tf.Tensor).dataSync());
    const b = tf.tidy(() => (folded.predict(x) as tf.Tensor).dataSync());
    for (let n = 0; n < 4; n++) assert.ok(Math.abs(a[n] - b[n]) < 1e-4);
    if (folded !== ensemble) folded.dispose();
  });

  it('Grad-CAM explains every member and returns one map per image', () => {
    assert.equal(findGradCamTargets(ensemble).length, 3);
    const result = gradCam(ensemble, x);
    assert.equal(result.cams.length, 4);
    const direct = tf.tidy(() => (ensemble.predict(x) as tf.Tensor).dataSync());
    for (let n = 0; n < 4; n++) assert.ok(Math.abs(result.probabilities[n] - direct[n]) < 1e-5);
    for (const cam of result.cams) assert.ok(cam.data.every((v) => v >= 0 && v <= 1));
  });

  it('refuses members whose output is not a sigmoid dense layer', async () => {
    const bad = member(4);
    const linear = await combineMembers([{ model: bad, temperature: 1 }]);
    await assert.rejects(() => combineMembers([{ model: linear, temperature: 1 }]), /sigmoid/);
    await assert.rejects(() => combineMembers([]), /no members/);
    await assert.rejects(() => combineMembers([{ model: bad, temperature: 0 }]), /temperature/);
    bad.dispose();
    linear.dispose();
  });
});
