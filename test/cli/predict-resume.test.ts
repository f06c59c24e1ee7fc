/**
 * `cxr predict --out` saves rows as they are scored: a run killed half way keeps them in FILE.partial, and
 * `--resume` scores only what is missing, ending with the same worklist as an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JOURNAL_FORMAT, journalPath, readJournal } from '../../src/predict/journal.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from '../predict/tiny-model.ts';

const REPO = path.join(import.meta.dirname, '..', '..');
const SOURCES = ['train/NORMAL/IM-0117-0001.jpeg', 'test/PNEUMONIA/person3_bacteria_10.jpeg'].map((f) =>
  path.join(REPO, 'test/fixtures/dataset', f),
);
const CLI = ['--import', 'tsx', 'src/cli/main.ts', 'predict'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cxr(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: REPO }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

let saved: TinyModelDir;
let work: string;
let images: string;

before(async () => {
  saved = await saveTinyModel({ backend: 'wasm', model: seededModel });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-predict-resume-'));
  images = path.join(work, 'images');
  await mkdir(images);
  // 40 files, alternating between two X-rays, so a run scored one image per batch takes a few seconds.
  for (let i = 0; i < 40; i++) {
    await copyFile(SOURCES[i % 2], path.join(images, `img-${String(i).padStart(2, '0')}.jpeg`));
  }
});

after(async () => {
  await saved.cleanup();
  await rm(work, { recursive: true, force: true });
});

const lines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean);

describe('cxr predict --out / --resume', () => {
  test('a run killed half way keeps its rows; --resume scores the rest and matches an uninterrupted run', async () => {
    const whole = path.join(work, 'whole.csv');
    const full = await cxr(['--model', saved.dir, '--out', whole, '--batch-size', '1', images]);
    assert.equal(full.code, 0, full.stderr);

    const out = path.join(work, 'killed.csv');
    const args = ['--model', saved.dir, '--out', out, '--batch-size', '1', images];
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill it (SIGKILL: no chance to clean up) once a few rows are in the journal.
    for (let i = 0; i < 600; i++) {
      const written = await lines(journalPath(out)).catch(() => []);
      if (written.length >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await exited;
    const journal = await readJournal(journalPath(out));
    const kept = journal.entries.length;
    assert.ok(kept >= 3 && kept < 40, `killed with ${kept} rows saved`);
    await assert.rejects(readFile(out), 'no worklist until the run finishes');

    const refused = await cxr(args);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /interrupted run: add --resume to continue it, or delete it/);

    const resumed = await cxr([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const already = Number(/resuming .*: (\d+) of 40 inputs already scored/.exec(resumed.stderr)?.[1]);
    assert.equal(already, kept, resumed.stderr);
    assert.equal(await readFile(out, 'utf8'), await readFile(whole, 'utf8'));
    assert.deepEqual(
      (await readdir(work)).filter((n) => n.includes('.partial') || n.includes('.tmp')),
      [],
      'journal and temporary file removed',
    );
  });

  test('resume reuses only unchanged files that were scored, with the same model and settings', async () => {
    const dir = path.join(work, 'small');
    await mkdir(dir);
    const [a, b, c] = ['a.jpeg', 'b.jpeg', 'c.jpeg'].map((n) => path.join(dir, n));
    await copyFile(SOURCES[0], a);
    await copyFile(SOURCES[1], b);
    await copyFile(SOURCES[0], c);
    const out = path.join(work, 'small.json');
    const first = await cxr(['--model', saved.dir, '--json', '--out', out, dir]);
    assert.equal(first.code, 0, first.stderr);
    const metadata = JSON.parse(await readFile(path.join(saved.dir, 'metadata.json'), 'utf8'));
    const header = {
      format: JOURNAL_FORMAT,
      version: 1,
      model: { name: metadata.name, version: metadata.version, createdAt: metadata.createdAt },
      threshold: metadata.threshold,
      heatmaps: false,
    };
    // A journal as a killed run leaves it: made-up scores prove which rows are reused rather than rescored.
    const entry = async (file: string, result: object) => {
      const { size, mtimeMs } = await stat(file);
      return JSON.stringify({ file, size, mtimeMs, result: { name: file, ...result } });
    };
    const journal = [
      JSON.stringify(header),
      await entry(a, { status: 'scored', probability: 0.123456, label: 'NORMAL' }),
      await entry(b, { status: 'failed', error: { code: 'unreadable', message: 'permission denied' } }),
      await entry(c, { status: 'scored', probability: 0.654321, label: 'PNEUMONIA' }),
      '{"file":"cut short by the kil',
    ];
    await writeFile(journalPath(out), `${journal.join('\n')}`);
    const later = new Date(Date.now() + 5000);
    await utimes(c, later, later); // c was edited since it was scored

    const resumed = await cxr(['--model', saved.dir, '--json', '--out', out, '--resume', dir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /1 of 3 inputs already scored/);
    const rows = JSON.parse(await readFile(out, 'utf8')) as { path: string; probability: number }[];
    const byName = new Map(rows.map((r) => [path.basename(r.path), r.probability]));
    assert.equal(byName.get('a.jpeg'), 0.123456, 'a is reused');
    assert.notEqual(byName.get('c.jpeg'), 0.654321, 'c changed, so it is scored again');
    assert.equal(typeof byName.get('b.jpeg'), 'number', 'a failed row is tried again');

    await writeFile(journalPath(out), `${JSON.stringify({ ...header, threshold: 0.01 })}\n`);
    const other = await cxr(['--model', saved.dir, '--json', '--out', out, '--resume', dir]);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      /cannot resume from .*small\.json\.partial: it was written with threshold 0\.01/,
    );
    // A journal scored without --tta is not resumed with it: the two runs' probabilities differ.
    await writeFile(journalPath(out), `${JSON.stringify(header)}\n`);
    const tta = await cxr(['--model', saved.dir, '--json', '--out', out, '--resume', '--tta', dir]);
    assert.equal(tta.code, 1);
    assert.match(tta.stderr, /cannot resume from .*small\.json\.partial: it was written without --tta/);
    await rm(journalPath(out));

    const noOut = await cxr(['--model', saved.dir, '--resume', dir]);
    assert.equal(noOut.code, 1);
    assert.match(noOut.stderr, /--resume needs --out FILE/);
  });
});
