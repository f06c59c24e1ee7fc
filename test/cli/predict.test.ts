/** `cxr predict` end to end in a child process: worklist formats, exit codes, heatmaps, no patient data out. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { badInputs, DICOM_FIXTURES } from '../predict/bad-inputs.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from '../predict/tiny-model.ts';

const REPO = path.join(import.meta.dirname, '..', '..');
/** Every fake identifier the fixtures carry (scripts/make-dicom-fixtures.sh). */
const PHI = ['SECRET', 'DOE', 'JANE', '19010203', '4711', 'REFERRER', 'HOSPITAL'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from the repository, or through its `bin/cxr.js` launcher from another folder (`cwd`). */
function cxr(args: string[], cwd = REPO): Promise<Run> {
  const command = cwd === REPO ? ['--import', 'tsx', 'src/cli/main.ts'] : [path.join(REPO, 'bin', 'cxr.js')];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...command, ...args],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

let saved: TinyModelDir;
let work: string;

before(async () => {
  saved = await saveTinyModel({ backend: 'wasm', model: seededModel });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-predict-cli-'));
  await mkdir(path.join(work, 'bad'));
  for (const bad of badInputs()) await writeFile(path.join(work, 'bad', bad.name), bad.bytes);
});

after(async () => {
  await saved.cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('cxr predict', () => {
  test('all inputs scored: CSV on stdout, highest probability first, exit 0', async () => {
    const run = await cxr(['predict', '--model', saved.dir, path.join(DICOM_FIXTURES, '*.jpeg')]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines[0], 'path,status,probability,label,flag,rank,threshold,model,reason,error');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.deepEqual(rows.map((r) => path.basename(r[0])).sort(), ['source-a.jpeg', 'source-b.jpeg']);
    assert.ok(Number(rows[0][2]) >= Number(rows[1][2]));
    assert.deepEqual(
      rows.map((r) => [r[1], r[5]]),
      [
        ['scored', '1'],
        ['scored', '2'],
      ],
    );
    for (const row of rows) {
      assert.equal(row[4], row[3] === 'PNEUMONIA' ? 'Flagged' : 'Not flagged');
      assert.ok(Number(row[6]) > 0 && Number(row[6]) < 1, 'the threshold column holds the model threshold');
      assert.match(row[7], /\S+ \S+/, 'the model column names the model and its version');
    }
    assert.match(run.stderr, /2 inputs: 2 scored \(\d flagged\), 0 rejected, 0 failed/);
  });

  test('bad inputs: a row each with an error, the rest scored, exit 2; no patient identifier anywhere', async () => {
    const out = path.join(work, 'worklist.json');
    const heatmaps = path.join(work, 'heatmaps');
    const run = await cxr([
      'predict',
      '--model',
      saved.dir,
      DICOM_FIXTURES,
      path.join(work, 'bad', '*'),
      '--format',
      'json',
      '--out',
      out,
      '--heatmaps',
      heatmaps,
      '--batch-size',
      '5',
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    const text = await readFile(out, 'utf8');
    const rows = JSON.parse(text) as {
      path: string;
      status: string;
      reason: string | null;
      probability: number | null;
      error: unknown;
      heatmap?: string;
    }[];
    const byName = new Map(rows.map((r) => [path.basename(r.path), r]));
    for (const bad of badInputs()) {
      const row = byName.get(bad.name);
      assert.equal((row?.error as { code: string })?.code, bad.code, bad.name);
      assert.equal(row?.status, 'failed');
      assert.ok(row?.reason, `${bad.name} has no reason`);
      assert.ok(run.stderr.includes(bad.name), `${bad.name} not reported on stderr`);
    }
    const scored = rows.filter((r) => r.status === 'scored');
    assert.ok(scored.length >= 12, `only ${scored.length} scored`);
    assert.ok(
      rows.slice(rows.length - scored.length).every((r) => r.status === 'scored'),
      'rows that need a person come first',
    );
    const pngs = await readdir(heatmaps);
    assert.equal(pngs.length, scored.length);
    assert.ok(scored.every((r) => r.heatmap && pngs.includes(path.basename(r.heatmap))));
    // The fixtures' fake patient names, IDs and birth dates (present in the files) must not leak into any output.
    const fixture = await readFile(path.join(DICOM_FIXTURES, 'explicit-8bit.dcm'), 'latin1');
    assert.ok(fixture.includes('DOE^JANE^SECRET') && fixture.includes('19010203'));
    for (const where of [run.stdout, run.stderr, text, pngs.join('\n')]) {
      for (const secret of PHI) assert.ok(!where.includes(secret), `"${secret}" leaked`);
    }
  });

  test('a missing model exits 1 with a clear message; a bad threshold is refused', async () => {
    const missing = await cxr(['predict', '--model', path.join(work, 'no-model'), DICOM_FIXTURES]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /model directory .*no-model does not exist/);
    const threshold = await cxr(['predict', '--model', saved.dir, '--threshold', '1.5', DICOM_FIXTURES]);
    assert.notEqual(threshold.code, 0);
    assert.match(threshold.stderr, /between 0 and 1/);
  });

  test('run from another folder, the default model is the shipped one', async () => {
    const sample = path.join(REPO, 'samples', 'PNEUMONIA', 'person1008_virus_1691.jpeg');
    const run = await cxr(['predict', '--json', '--quiet', sample], os.tmpdir());
    assert.equal(run.code, 0, run.stderr);
    const [row] = JSON.parse(run.stdout) as { path: string; probability: number; label: string }[];
    assert.equal(row.path, sample);
    assert.ok(row.probability >= 0 && row.probability <= 1);
    assert.equal(row.label, 'PNEUMONIA', 'the shipped model reads this sample as pneumonia');
  });

  test('--help documents the columns and exit codes', async () => {
    const run = await cxr(['predict', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Exit status:/);
    assert.match(run.stdout, /2 {2}the worklist was written, but some inputs need a person/);
    assert.match(run.stdout, /--no-gate/);
    assert.match(run.stdout, /WebP, TIFF and DICOM/);
    assert.match(run.stdout, /JPEG baseline, JPEG lossless/);
  });
});
