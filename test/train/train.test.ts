import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SHIFT_SUITE } from '../../src/data/shift.ts';
import { validateMetadata } from '../../src/model/metadata.ts';
import { CHECKPOINT_DIR, CHECKPOINT_JSON } from '../../src/train/checkpoint.ts';
import { type TrainConfig, TrainConfigError } from '../../src/train/config.ts';
import type { TrainingHooks } from '../../src/train/loop.ts';
import { type TrainOptions, trainModel } from '../../src/train/train.ts';
import { makeSyntheticDataset } from './synthetic-dataset.ts';

const CONFIG: Partial<TrainConfig> = {
  imageSize: 24,
  epochs: 3,
  batchSize: 8,
  learningRate: 3e-3,
  valFraction: 0.25,
  seed: 7,
};

let dataDir: string;
let work: string;

function options(outDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    dataDir,
    outDir,
    backend: 'wasm',
    cacheDir: null,
    bootstrapSamples: 50,
    config: CONFIG,
    ...extra,
  };
}

/** Simulates a run killed right after epoch `epoch` was checkpointed. */
function killAfter(epoch: number): TrainingHooks {
  return {
    onEpochEnd({ record }) {
      if (record.epoch === epoch) throw new Error('simulated crash');
    },
  };
}

before(async () => {
  dataDir = await makeSyntheticDataset({ perClass: 24, size: 32 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-train-test-'));
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('trainModel', () => {
  it('lowers the training loss and writes a complete model directory', async () => {
    const outDir = path.join(work, 'complete');
    const result = await trainModel(options(outDir));
    const losses = result.history.map((r) => r.trainLoss);
    assert.equal(losses.length, 3);
    assert.ok(losses[2] < losses[0], `loss should fall: ${losses.join(', ')}`);
    for (const file of [
      'model.json',
      'weights.bin',
      'MODEL_CARD.md',
      'history.json',
      'report.html',
      'training-curves.png',
      'split.json',
    ]) {
      assert.ok(existsSync(path.join(outDir, file)), `${file} missing`);
    }
    assert.ok(!existsSync(path.join(outDir, CHECKPOINT_DIR)), 'checkpoints are removed after a finished run');
    const metadata = validateMetadata(
      JSON.parse(await readFile(path.join(outDir, 'metadata.json'), 'utf8')),
      'metadata.json',
    );
    assert.equal(metadata.preprocessing.imageSize, 24);
    assert.equal(metadata.thresholdRule, 'max-specificity@sensitivity>=0.95');
    assert.ok(metadata.calibration.method === 'temperature' && metadata.calibration.temperature > 0);
    assert.match(String(metadata.training?.augmentation), /rotation ±10°.*no flips/);
    assert.equal(metadata.data.count + (metadata.data.validation?.count ?? 0), 48);
    const metrics = metadata.metrics as { n: number; sensitivity: number; ci95: object; atHalf: object };
    assert.equal(metrics.n, metadata.data.validation?.count);
    assert.ok(metrics.sensitivity >= 0.95, 'the sens95 rule keeps validation sensitivity >= 0.95');
    assert.ok('ci95' in metrics && 'atHalf' in metrics);
    const card = await readFile(path.join(outDir, 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /Not a medical device/);
    assert.match(card, /children aged 1–5/);
    const history = JSON.parse(await readFile(path.join(outDir, 'history.json'), 'utf8'));
    assert.deepEqual(
      history.map((r: { epoch: number }) => r.epoch),
      [1, 2, 3],
    );
  });

  it('resumes a killed run and ends with exactly the weights of an uninterrupted one', async () => {
    const straight = path.join(work, 'straight');
    const resumed = path.join(work, 'resumed');
    const config = { ...CONFIG, epochs: 2 };
    await trainModel(options(straight, { config }));
    await assert.rejects(trainModel(options(resumed, { config, hooks: [killAfter(1)] })), /simulated crash/);
    const checkpoint = JSON.parse(
      await readFile(path.join(resumed, CHECKPOINT_DIR, CHECKPOINT_JSON), 'utf8'),
    );
    assert.equal(checkpoint.state.epochsDone, 1);
    await assert.rejects(trainModel(options(resumed, { config })), /unfinished run .*--resume/);
    const result = await trainModel(options(resumed, { resume: true }));
    assert.equal(result.history.length, 2);
    const a = new Float32Array((await readFile(path.join(straight, 'weights.bin'))).buffer.slice(0));
    const b = new Float32Array((await readFile(path.join(resumed, 'weights.bin'))).buffer.slice(0));
    assert.deepEqual(b, a, 'the resumed run ends with other weights (bit for bit)');
    const metaA = JSON.parse(await readFile(path.join(straight, 'metadata.json'), 'utf8'));
    const metaB = JSON.parse(await readFile(path.join(resumed, 'metadata.json'), 'utf8'));
    assert.ok(Math.abs(metaA.threshold - metaB.threshold) < 1e-6);
    assert.equal(metaA.training.bestEpoch, metaB.training.bestEpoch);
  });

  it('refuses --resume without a checkpoint, and bad settings, with clear errors', async () => {
    await assert.rejects(trainModel(options(path.join(work, 'none'), { resume: true })), /nothing to resume/);
    await assert.rejects(
      trainModel(options(path.join(work, 'bad'), { config: { ...CONFIG, architecture: 'resnet9000' } })),
      /unknown architecture "resnet9000"; known: default/,
    );
    await assert.rejects(
      trainModel(options(path.join(work, 'bad'), { config: { ...CONFIG, epochs: 0 } })),
      (err: unknown) =>
        err instanceof TrainConfigError &&
        err.field === 'epochs' &&
        err.message === 'epochs must be an integer >= 1, got 0',
    );
  });
});

describe('trainModel with --members', () => {
  const ensembleConfig = {
    ...CONFIG,
    epochs: 2,
    members: 2,
    augmentation: 'strong' as const,
    valSplit: 'framing' as const,
  };

  it('trains each member on one split and saves them as one ensemble model', async () => {
    const outDir = path.join(work, 'ensemble');
    const result = await trainModel(options(outDir, { config: ensembleConfig }));
    const metadata = result.metadata;
    assert.equal(metadata.ensemble?.members.length, 2);
    assert.deepEqual(
      metadata.ensemble?.members.map((m) => m.seed),
      [7, 8],
    );
    for (const m of metadata.ensemble?.members ?? []) assert.ok(m.temperature > 0 && m.epochsRun === 2);
    assert.match(String(metadata.training?.augmentation), /zoom 0\.8–1\.45×.*gamma/);
    const topology = JSON.parse(await readFile(path.join(outDir, 'model.json'), 'utf8'));
    const names = topology.modelTopology.config.layers.map((l: { name: string }) => l.name);
    assert.ok(
      names.includes('m0_stem_conv') && names.includes('m1_stem_conv') && names.includes('probability'),
    );
    assert.deepEqual(
      result.history.map((r) => `${r.member}:${r.epoch}`),
      ['0:1', '0:2', '1:1', '1:2'],
    );
    const split = JSON.parse(await readFile(path.join(outDir, 'split.json'), 'utf8'));
    assert.equal(split.seed, 7, 'members share the split of the run seed');
    assert.equal(split.design, 'framing');
    const validation = metadata.training?.validation as { design?: string } | undefined;
    assert.equal(validation?.design, 'framing');
    const [val, shift] = metadata.evaluations ?? [];
    assert.equal(val.kind, 'validation');
    assert.match(val.name, /framing split/);
    assert.equal(val.n, metadata.data.validation?.count);
    assert.equal(shift.kind, 'shift');
    assert.deepEqual(
      Object.keys(shift.perShift ?? {}),
      SHIFT_SUITE.map((s) => s.name),
    );
    assert.equal(shift.n, val.n * SHIFT_SUITE.length);
    // The report and card list the members instead of one run of "4 of 2" epochs.
    const report = await readFile(path.join(outDir, 'report.html'), 'utf8');
    assert.match(report, /2 members of up to 2 each; member 1: 2 \(best: \d\), member 2: 2 \(best: \d\)/);
    assert.doesNotMatch(report, /4 of 2/);
    const card = await readFile(path.join(outDir, 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /an ensemble of 2 networks/);
  });

  it('resumes an ensemble killed in its second member and ends with the same weights', async () => {
    const straight = path.join(work, 'ens-straight');
    const resumed = path.join(work, 'ens-resumed');
    await trainModel(options(straight, { config: ensembleConfig }));
    let epochsSeen = 0;
    const killInSecondMember: TrainingHooks = {
      onEpochEnd() {
        epochsSeen++;
        if (epochsSeen === 3) throw new Error('simulated crash');
      },
    };
    await assert.rejects(
      trainModel(options(resumed, { config: ensembleConfig, hooks: [killInSecondMember] })),
      /simulated crash/,
    );
    assert.ok(existsSync(path.join(resumed, CHECKPOINT_DIR, 'member-1', CHECKPOINT_JSON)));
    await assert.rejects(trainModel(options(resumed, { config: ensembleConfig })), /unfinished run/);
    const result = await trainModel(options(resumed, { resume: true }));
    assert.equal(result.history.length, 4);
    const a = new Float32Array((await readFile(path.join(straight, 'weights.bin'))).buffer.slice(0));
    const b = new Float32Array((await readFile(path.join(resumed, 'weights.bin'))).buffer.slice(0));
    assert.equal(a.length, b.length);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    assert.ok(maxDiff <= 1e-6, `weights differ by up to ${maxDiff}`);
  });
});
