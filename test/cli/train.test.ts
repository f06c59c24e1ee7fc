import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeSyntheticDataset } from '../train/synthetic-dataset.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cxr(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts a training run and SIGKILLs it as soon as its first checkpoint exists. */
async function killAtFirstCheckpoint(args: string[], checkpointFile: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const timer = setInterval(() => {
    if (existsSync(checkpointFile)) child.kill('SIGKILL');
  }, 10);
  await exited;
  clearInterval(timer);
}

let dataDir: string;
let work: string;
const FAST = [
  '--backend',
  'wasm',
  '--image-size',
  '16',
  '--batch-size',
  '8',
  '--val-fraction',
  '0.25',
  '--seed',
  '3',
];

before(async () => {
  dataDir = await makeSyntheticDataset({ perClass: 20, size: 24 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-cli-train-'));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('cxr train', () => {
  it('documents its flags and architectures in --help', async () => {
    const run = await cxr(['train', '--help']);
    assert.equal(run.code, 0);
    for (const flag of [
      '--epochs',
      '--batch-size',
      '--image-size',
      '--arch',
      '--lr',
      '--val-fraction',
      '--seed',
      '--resume',
      '--val-dir',
      '--threshold-rule',
      '--patience',
    ]) {
      assert.ok(run.stdout.includes(flag), `help lacks ${flag}`);
    }
    assert.match(run.stdout, /seed-cnn/);
  });

  it('--json prints only a JSON summary on stdout; epoch lines go to stderr', async () => {
    const out = path.join(work, 'json-model');
    const run = await cxr(['train', '--data', dataDir, '--out', out, '--epochs', '2', '--json', ...FAST]);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.outDir, out);
    assert.equal(summary.imageSize, 16);
    assert.ok(summary.threshold >= 0 && summary.threshold <= 1);
    assert.equal(summary.training.epochsRun, 2);
    assert.match(summary.training.command, /train --data .* --epochs 2 --json/);
    assert.match(run.stderr, /epoch 2\/2 {2}loss/);
    assert.ok(existsSync(path.join(out, 'model.json')));

    // A finished model is not overwritten by accident.
    const metadata = await readFile(path.join(out, 'metadata.json'), 'utf8');
    const again = await cxr(['train', '--data', dataDir, '--out', out, '--epochs', '2', ...FAST]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /json-model already holds a trained model \(metadata\.json\).* --force/);
    assert.equal(await readFile(path.join(out, 'metadata.json'), 'utf8'), metadata, 'left as it was');
    // --force gets past that check (this run then stops at its missing dataset, before touching the folder).
    const forced = await cxr(['train', '--data', path.join(work, 'nope'), '--out', out, '--force', ...FAST]);
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /nope/);
    assert.doesNotMatch(forced.stderr, /already holds/);
  });

  it('continues a killed run with --resume', async () => {
    const out = path.join(work, 'killed');
    const args = ['train', '--data', dataDir, '--out', out, '--epochs', '6', '--patience', '0', ...FAST];
    await killAtFirstCheckpoint(args, path.join(out, 'checkpoints', 'checkpoint.json'));
    assert.ok(!existsSync(path.join(out, 'model.json')), 'the killed run must not have finished');
    const again = await cxr(args);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /unfinished run .* --resume/);
    const resumed = await cxr([...args, '--resume', '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const history = JSON.parse(await readFile(path.join(out, 'history.json'), 'utf8'));
    assert.deepEqual(
      history.map((r: { epoch: number }) => r.epoch),
      [1, 2, 3, 4, 5, 6],
    );
  });

  it('fails with a clear message on bad input', async () => {
    const missing = await cxr([
      'train',
      '--data',
      path.join(work, 'nope'),
      '--out',
      path.join(work, 'x'),
      ...FAST,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cxr: error: .*nope/);
    const badEpochs = await cxr(['train', '--data', dataDir, '--out', path.join(work, 'x'), '--epochs', '0']);
    assert.notEqual(badEpochs.code, 0);
    assert.match(badEpochs.stderr, /--epochs.*expected an integer >= 1/);
    // One set of bounds: the parser refuses what the training config would refuse, with the same range.
    const args = ['train', '--data', dataDir, '--out', path.join(work, 'x'), '--val-fraction', '0.6'];
    const badFraction = await cxr(args);
    assert.notEqual(badFraction.code, 0);
    assert.match(badFraction.stderr, /--val-fraction.*expected a number in \(0, 0\.5\)/);
  });
});
