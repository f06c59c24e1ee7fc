import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine } from '../../src/engine/backend.ts';
import { readMetadata } from '../../src/model/io.ts';
import { makeModelDir } from '../evaluate/model-fixture.ts';
import { runCli } from '../helpers/cli.ts';

const cxr = runCli;

const FIXTURE = 'test/fixtures/dataset';
const BLOCK_KEYS = [
  'n',
  'threshold',
  'accuracy',
  'sensitivity',
  'specificity',
  'precision',
  'npv',
  'f1',
  'rocAuc',
  'prAuc',
  'logLoss',
  'brier',
  'ece',
  'confusion',
  'ci95',
  'ciMethod',
];

let modelDir: string;
let work: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  modelDir = await makeModelDir(24, { threshold: 0.45 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-cli-evaluate-'));
});
after(async () => {
  await rm(path.dirname(modelDir), { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function checkBlock(block: Record<string, unknown>, threshold: number): void {
  assert.deepEqual(
    Object.keys(block).filter((k) => k !== 'atHalf' && k !== 'gate'),
    BLOCK_KEYS,
  );
  assert.equal(block.n, 8);
  assert.equal(block.threshold, threshold);
  for (const key of [
    'accuracy',
    'sensitivity',
    'specificity',
    'rocAuc',
    'prAuc',
    'logLoss',
    'brier',
    'ece',
  ]) {
    assert.equal(typeof block[key], 'number', key);
  }
  // Undefined when nothing is called positive (or negative) at this threshold: null, never a made-up number.
  for (const key of ['precision', 'npv', 'f1'])
    assert.ok(block[key] === null || typeof block[key] === 'number', key);
  assert.deepEqual(Object.keys(block.confusion as object), ['tp', 'fp', 'tn', 'fn']);
  const ci = block.ci95 as Record<string, number[]>;
  assert.deepEqual(Object.keys(ci), ['accuracy', 'sensitivity', 'specificity', 'precision', 'npv', 'rocAuc']);
  // Defined intervals have positive width; an undefined rate (null) has an undefined interval.
  for (const [key, [lo, hi]] of Object.entries(ci)) {
    if (block[key] === null) assert.deepEqual([lo, hi], [null, null], key);
    else assert.ok(lo < hi, `${key}: ${lo}–${hi}`);
  }
  assert.equal((block.ciMethod as { proportions: string }).proportions, 'wilson');
}

describe('cxr evaluate', () => {
  it('--json prints exactly the metrics.json schema and nothing else', async () => {
    const out = path.join(work, 'json');
    const run = await cxr([
      'evaluate',
      '--model',
      modelDir,
      '--data',
      FIXTURE,
      '--out',
      out,
      '--json',
      '--bootstrap',
      '200',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const metrics = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(metrics), [...BLOCK_KEYS, 'atHalf', 'gate']);
    // The input gate's part: every image checked, none silently dropped (this test model has no gate data,
    // so only the cheap checks ran, and these real X-rays pass them).
    assert.equal(metrics.gate.learnedCheck, false);
    assert.equal(metrics.gate.checked, metrics.gate.scored + metrics.gate.rejected.length);
    assert.equal(metrics.gate.scored, metrics.n);
    checkBlock(metrics, 0.45);
    checkBlock(metrics.atHalf, 0.5);
    assert.match(run.stderr, /warning: skipped .*notes\.jpeg/);
    assert.deepEqual(JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')), metrics);
    assert.ok(existsSync(path.join(out, 'report.html')));
  });

  it('prints a readable summary without --json', async () => {
    const run = await cxr([
      'evaluate',
      '--model',
      modelDir,
      '--data',
      FIXTURE,
      '--out',
      path.join(work, 'text'),
      '--bootstrap',
      '50',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /on 8 images \(test split\), threshold 0\.4500/);
    assert.match(run.stdout, /sensitivity/);
    assert.match(run.stdout, /Not a medical device/);
  });

  it('fails clearly without a model', async () => {
    const run = await cxr(['evaluate', '--model', path.join(work, 'missing'), '--data', FIXTURE]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /model directory .*missing does not exist/);
  });

  it('--attach records the evaluation in the model and its card; a second attach adds another', async () => {
    const model = await makeModelDir(24, { threshold: 0.45 });
    try {
      const run = await cxr([
        'evaluate',
        '--model',
        model,
        '--data',
        FIXTURE,
        '--out',
        path.join(work, 'attach'),
        '--bootstrap',
        '100',
        '--attach',
        '--name',
        'Fixture hospital',
        '--json',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const { gate, ...metrics } = JSON.parse(run.stdout);
      assert.equal(gate.rejected.length, 0);
      assert.match(run.stderr, /attached to .*metadata\.json as external evaluation "Fixture hospital"/);
      const metadata = await readMetadata(model);
      assert.equal(metadata.evaluations?.length, 1);
      const [record] = metadata.evaluations ?? [];
      assert.equal(record.kind, 'external');
      assert.equal(record.name, 'Fixture hospital');
      assert.equal(record.n, 8);
      assert.deepEqual(record.metrics, metrics);
      assert.deepEqual(record.data?.classCounts, { NORMAL: 4, PNEUMONIA: 4 });
      assert.match(record.data?.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.match(
        record.command ?? '',
        /cxr -- evaluate --model .* --attach --name 'Fixture hospital' --json/,
      );
      assert.ok(!Number.isNaN(Date.parse(record.createdAt)));
      const card = await readFile(path.join(model, 'MODEL_CARD.md'), 'utf8');
      assert.match(card, /\| External: Fixture hospital \| 8 \(4 NORMAL, 4 PNEUMONIA\) \|/);
      assert.match(card, /#### Fixture hospital/);

      const again = await cxr([
        'evaluate',
        '--model',
        model,
        '--data',
        FIXTURE,
        '--out',
        path.join(work, 'attach2'),
        '--attach',
        '--quiet',
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /as external evaluation "dataset\/test"/);
      const both = await readMetadata(model);
      assert.deepEqual(
        both.evaluations?.map((e) => e.name),
        ['Fixture hospital', 'dataset/test'],
      );
    } finally {
      await rm(path.dirname(model), { recursive: true, force: true });
    }
  });

  it('--name needs --attach', async () => {
    const run = await cxr(['evaluate', '--model', modelDir, '--data', FIXTURE, '--name', 'x']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--name names an attached evaluation: add --attach/);
  });

  it('--attach refuses a model folder it cannot write, before scoring', {
    skip: process.getuid?.() === 0 ? 'root can write anywhere' : false,
  }, async () => {
    const model = await makeModelDir(24);
    try {
      await chmod(model, 0o555);
      const run = await cxr(['evaluate', '--model', model, '--data', FIXTURE, '--attach', '--quiet']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cannot attach the evaluation to .*: the folder is not writable/);
      assert.equal(run.stdout, '');
    } finally {
      await chmod(model, 0o755);
      await rm(path.dirname(model), { recursive: true, force: true });
    }
  });
});
