import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ExploreSummary } from '../../src/explore/explore.ts';

const run = promisify(execFile);
const FIXTURE = path.resolve('test/fixtures/dataset');
const CLI = path.resolve('src/cli/main.ts');
let work: string;

function cxr(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
}

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-explore-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('explore on the fixture dataset writes a summary with the right numbers', async () => {
  const out = path.join(work, 'report');
  const cacheDir = path.join(work, 'cache');
  const { stdout } = await cxr([
    'explore',
    '--data',
    FIXTURE,
    '--out',
    out,
    '--cache-dir',
    cacheDir,
    '--json',
  ]);
  const summary: ExploreSummary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(JSON.parse(stdout), summary, '--json prints the same summary');

  assert.equal(summary.layout, 'splits');
  assert.deepEqual(summary.images, {
    train: { NORMAL: 7, PNEUMONIA: 8, total: 15 },
    test: { NORMAL: 4, PNEUMONIA: 4, total: 8 },
  });
  assert.deepEqual(summary.totals, { files: 26, images: 23, badFiles: 3, patients: 17 });
  assert.deepEqual(summary.classTotals, { NORMAL: 11, PNEUMONIA: 12 });
  assert.deepEqual(summary.patients.total, { NORMAL: 9, PNEUMONIA: 8 });
  assert.deepEqual(summary.patients.bySplit.train, { NORMAL: 6, PNEUMONIA: 5 });
  assert.deepEqual(summary.patients.crossSplit.list, [
    { patientId: 'IM-0115', splits: ['train', 'test'] },
    { patientId: 'person3', splits: ['train', 'test'] },
  ]);
  assert.deepEqual(summary.patients.imagesPerPatient.PNEUMONIA, [
    { images: 1, patients: 6 },
    { images: 2, patients: 1 },
    { images: 4, patients: 1 },
  ]);
  assert.deepEqual(summary.subtypes, {
    train: { bacteria: 5, virus: 3, unknown: 0 },
    test: { bacteria: 4, virus: 0, unknown: 0 },
  });
  assert.deepEqual(summary.dimensions.width, { min: 96, max: 128, mean: 2280 / 23, median: 96 });
  assert.equal(summary.dimensions.height.min, 80);
  assert.equal(summary.intensity.NORMAL.images, 11);
  assert.equal(
    summary.intensity.PNEUMONIA.histogram.reduce((a, b) => a + b, 0),
    12 * 128 * 128,
  );

  const { exact, near } = summary.duplicates;
  assert.deepEqual(
    [exact.groups, exact.extraCopies, exact.crossSplitGroups, exact.labelConflictGroups],
    [1, 1, 1, 0],
  );
  assert.deepEqual(
    exact.list[0].files.map((f) => f.path),
    ['test/NORMAL/IM-0115-0001.jpeg', 'train/NORMAL/IM-0115-0001.jpeg'],
  );
  assert.deepEqual([near.groups, near.crossSplitGroups], [1, 1]);
  assert.deepEqual(
    near.list[0].files.map((f) => f.path),
    ['test/PNEUMONIA/person3_bacteria_10.jpeg', 'train/PNEUMONIA/person3_bacteria_10.jpeg'],
  );

  assert.equal(summary.badFiles.count, 3);
  assert.deepEqual(
    summary.badFiles.list.map((b) => b.path),
    ['test/NORMAL/notes.jpeg', 'train/PNEUMONIA/empty.jpeg', 'train/PNEUMONIA/truncated.jpeg'],
  );
  assert.match(summary.badFiles.list[1].reason, /empty/);
  assert.match(summary.badFiles.list[2].reason, /truncated/);
  assert.deepEqual([summary.cache.hits, summary.cache.decoded], [0, 24]);
});

test('explore writes a self-contained report and every chart as PNG and SVG', async () => {
  const out = path.join(work, 'report');
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.ok(!/\s(?:src|href)="(?!data:|#)/.test(html), 'no external resources');
  assert.ok(!html.includes('<script'));
  assert.match(html, /not a diagnosis/);
  assert.ok(html.includes('train/PNEUMONIA/empty.jpeg'));
  const embedded = html.match(/src="data:image\/(png|svg\+xml);base64,/g) ?? [];
  const charts = [
    'images-per-split',
    'images-pie-train',
    'images-pie-test',
    'patients-per-class',
    'images-per-patient',
    'subtypes',
    'width',
    'height',
    'aspect-ratio',
    'intensity',
  ];
  assert.equal(embedded.length, charts.length + 4, 'charts plus mean and sample images per class');
  for (const name of charts) {
    const meta = await sharp(path.join(out, 'charts', `${name}.png`)).metadata();
    assert.equal(meta.format, 'png', name);
    assert.match(await readFile(path.join(out, 'charts', `${name}.svg`), 'utf8'), /^<svg/);
  }
  const mean = await sharp(path.join(out, 'images', 'mean-NORMAL.png')).metadata();
  assert.deepEqual([mean.width, mean.height], [128, 128]);
  const grid = await sharp(path.join(out, 'images', 'samples-PNEUMONIA.png')).metadata();
  assert.equal(grid.width, 4 * 128 + 3 * 2, '12 samples tile 4 wide');
});

test('a second run reads the pixels from the cache', async () => {
  const out = path.join(work, 'report2');
  await cxr(['explore', '--data', FIXTURE, '--out', out, '--cache-dir', path.join(work, 'cache'), '--quiet']);
  const summary: ExploreSummary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
  // Only the truncated JPEG, which never decodes, is tried again.
  assert.deepEqual([summary.cache.hits, summary.cache.decoded], [23, 1]);
  assert.deepEqual(summary.images.train, { NORMAL: 7, PNEUMONIA: 8, total: 15 });
});

test('text output, --help and a clear error for a missing folder', async () => {
  const { stdout } = await cxr([
    'explore',
    '--data',
    FIXTURE,
    '--out',
    path.join(work, 'text'),
    '--no-cache',
  ]);
  assert.match(stdout, /train NORMAL 7, PNEUMONIA 8 \(total 15\)/);
  assert.match(stdout, /exact duplicates: 1 groups \(1 extra copies, 1 across splits\)/);
  await assert.rejects(stat(path.join(work, 'text', '.cache')));
  const help = await cxr(['explore', '--help']);
  assert.match(help.stdout, /--data <dir>/);
  assert.match(help.stdout, /--image-size <px>/);
  await assert.rejects(
    cxr(['explore', '--data', path.join(work, 'missing'), '--out', path.join(work, 'x')]),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /cxr: error: dataset folder .*missing not found/);
      return true;
    },
  );
});
