import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine } from '../../src/engine/backend.ts';
import { makeModelDir } from '../evaluate/model-fixture.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cxr(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

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
});
