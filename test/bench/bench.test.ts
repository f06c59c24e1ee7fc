import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { findBenchImages, measurePipeline } from '../../src/bench/pipeline.ts';
import { measureThroughput } from '../../src/bench/throughput.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { profileTrainingEpoch } from '../../src/train/profile.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('bench', () => {
  it('measures predict and train throughput on one thread and two replicas without leaking tensors', async () => {
    for (const replicas of [1, 2]) {
      const before = tf.memory().numTensors;
      const result = await measureThroughput({
        architecture: 'reference-cnn',
        imageSize: 16,
        batchSize: 4,
        steps: 1,
        warmupSteps: 1,
        replicas,
      });
      assert.equal(tf.memory().numTensors, before);
      assert.equal(result.batchSize, 4);
      for (const rate of [result.predictImagesPerSec, result.trainImagesPerSec]) {
        assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
      }
    }
  });

  it('finds images in the first folder that has any, and none in missing folders', async () => {
    const found = await findBenchImages(['test/fixtures/no-such-folder', 'test/fixtures/dataset/train'], 3);
    assert.equal(found?.source, 'test/fixtures/dataset/train');
    assert.equal(found?.files.length, 3);
    assert.equal(await findBenchImages(['test/fixtures/no-such-folder'], 3), null);
  });

  it('decodes and augments images, counting only the ones that decode', async () => {
    const found = await findBenchImages(['test/fixtures/dataset/train'], 4);
    assert.ok(found);
    const result = await measurePipeline({
      ...found,
      files: [...found.files, 'test/fixtures/missing.jpeg'],
      imageSize: 32,
    });
    // The missing file is never counted (fixture files themselves may include deliberately broken ones).
    assert.ok(result.images >= 1 && result.images <= found.files.length, `counted ${result.images}`);
    assert.ok(result.imagesPerSec > 0);
  });

  it('profiles an epoch at a chosen size and augmentation: parts, kernels and rates, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const profile = await profileTrainingEpoch({
      imageSize: 32,
      augmentation: 'strong',
      trainImages: 64,
      valImages: 16,
      bareSteps: 1,
    });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(profile.imageSize, 32);
    assert.equal(profile.augmentation, 'strong');
    assert.equal(profile.trainImages, 64);
    for (const rate of [profile.stepImagesPerSec, profile.loopImagesPerSec, profile.epochImagesPerSec]) {
      assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
    }
    assert.ok(profile.parts.step > 0 && profile.parts.build > 0, JSON.stringify(profile.parts));
    const kernels = new Set(profile.stepKernels.timings.map((t) => t.kernel));
    assert.ok(
      kernels.has('Conv2DBackpropFilter') && kernels.has('PneumoscopeAdamUpdate'),
      [...kernels].join(', '),
    );
    const none = await profileTrainingEpoch({
      imageSize: 32,
      augmentation: 'none',
      trainImages: 32,
      valImages: 8,
      bareSteps: 1,
    });
    assert.equal(none.augmentation, 'none');
  });
});
