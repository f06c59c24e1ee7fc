import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { ImageRecord } from '../../src/core/types.ts';
import { chooseSplit, discoverDataset, type ReadHead } from '../../src/data/discover.ts';

const FIXTURE = path.resolve('test/fixtures/dataset');
const SAMPLE_JPEG = path.join(FIXTURE, 'train/NORMAL/IM-0117-0001.jpeg');
const temps: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-discover-'));
  temps.push(dir);
  return dir;
}

after(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

function countBy(records: { split: string; label: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[`${r.split}/${r.label}`] = (counts[`${r.split}/${r.label}`] ?? 0) + 1;
  return counts;
}

test('finds every image of the split layout with split, label, patient and subtype', async () => {
  const { root, records, bad } = await discoverDataset(FIXTURE);
  assert.equal(root, FIXTURE);
  // truncated.jpeg starts like a JPEG, so it is a record here and fails only when decoded.
  assert.deepEqual(countBy(records), {
    'train/NORMAL': 7,
    'train/PNEUMONIA': 9,
    'test/NORMAL': 4,
    'test/PNEUMONIA': 4,
  });
  const virus = records.find((r) => r.path.endsWith('person1000_virus_1681.jpeg'));
  assert.ok(virus);
  assert.equal(virus.patientId, 'person1000');
  assert.equal(virus.subtype, 'virus');
  assert.equal(virus.labelIndex, 1);
  assert.ok(virus.size > 0 && virus.mtimeMs > 0);
  const normal = records.find((r) => r.path.endsWith('NORMAL2-IM-0383-0001.jpeg'));
  assert.equal(normal?.patientId, 'NORMAL2-IM-0383');
  assert.equal(normal?.labelIndex, 0);
  assert.ok(
    records.some((r) => r.path.endsWith('.png')),
    'PNG files are found by content',
  );
  const paths = records.map((r) => r.path);
  assert.deepEqual(paths, [...paths].sort(), 'records are sorted by path');
  assert.ok(!paths.some((p) => p.includes('.DS_Store')));
  assert.ok(!bad.some((b) => b.path.includes('.DS_Store')), 'hidden files are ignored silently');
  assert.deepEqual(
    bad.map((b) => [path.relative(FIXTURE, b.path), b.reason]),
    [
      ['test/NORMAL/notes.jpeg', 'not a supported image format (expected JPEG, PNG, WebP, TIFF or DICOM)'],
      ['train/PNEUMONIA/empty.jpeg', 'file is empty (0 bytes)'],
    ],
  );
});

test('a folder with class folders only is one split named all; folder names are case-insensitive', async () => {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'normal'));
  await mkdir(path.join(dir, 'Pneumonia', 'nested'), { recursive: true });
  await copyFile(SAMPLE_JPEG, path.join(dir, 'normal', 'IM-0001-0001.jpeg'));
  await copyFile(SAMPLE_JPEG, path.join(dir, 'Pneumonia', 'nested', 'person9_virus_1.jpg'));
  await writeFile(path.join(dir, 'README.txt'), 'not part of a class folder');
  const { records, bad } = await discoverDataset(dir);
  assert.deepEqual(countBy(records), { 'all/NORMAL': 1, 'all/PNEUMONIA': 1 });
  assert.deepEqual(bad, []);
});

test('a missing root, a file, or a folder without class folders is a clear error', async () => {
  const dir = await tempDir();
  await assert.rejects(discoverDataset(path.join(dir, 'nope')), /dataset folder .*nope not found/);
  await writeFile(path.join(dir, 'file.txt'), 'x');
  await assert.rejects(discoverDataset(path.join(dir, 'file.txt')), /is not a folder/);
  await mkdir(path.join(dir, 'empty'));
  await assert.rejects(discoverDataset(path.join(dir, 'empty')), /no dataset found .*NORMAL\/PNEUMONIA/);
});

test('a dangling link is reported as unreadable, not thrown', async () => {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'NORMAL'));
  await symlink(path.join(dir, 'gone.jpeg'), path.join(dir, 'NORMAL', 'link.jpeg'));
  const { records, bad } = await discoverDataset(dir);
  assert.equal(records.length, 0);
  assert.deepEqual(bad, [
    { path: path.join(dir, 'NORMAL', 'link.jpeg'), reason: 'cannot read file: no such file or directory' },
  ]);
});

test('a file without read permission is a bad file with the reason', async () => {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'PNEUMONIA'));
  const locked = path.join(dir, 'PNEUMONIA', 'person1_bacteria_1.jpeg');
  await copyFile(SAMPLE_JPEG, locked);
  await copyFile(SAMPLE_JPEG, path.join(dir, 'PNEUMONIA', 'person2_bacteria_2.jpeg'));
  // The read error is injected: root reads files of any mode, so a chmod alone proves nothing when tests run as
  // root, and the error is the one Node gives an unprivileged user.
  const readHead: ReadHead = async (file, length) => {
    if (file === locked) {
      const err = new Error(`EACCES: permission denied, open '${file}'`) as NodeJS.ErrnoException;
      Object.assign(err, { code: 'EACCES', errno: -13, syscall: 'open', path: file });
      throw err;
    }
    return (await readFile(file)).subarray(0, length);
  };
  const result = await discoverDataset(dir, { readHead });
  assert.equal(result.records.length, 1);
  assert.deepEqual(result.bad, [{ path: locked, reason: 'cannot read file: permission denied' }]);
});

test('linked class folders, linked sub-folders and linked files are followed; a link loop is walked once', async () => {
  const elsewhere = await tempDir();
  await mkdir(path.join(elsewhere, 'normals', 'more'), { recursive: true });
  await copyFile(SAMPLE_JPEG, path.join(elsewhere, 'normals', 'IM-0001-0001.jpeg'));
  await copyFile(SAMPLE_JPEG, path.join(elsewhere, 'normals', 'more', 'IM-0002-0001.jpeg'));
  await copyFile(SAMPLE_JPEG, path.join(elsewhere, 'person5_virus_9.jpeg'));
  // A loop: a link inside the folder pointing back at it.
  await symlink(path.join(elsewhere, 'normals'), path.join(elsewhere, 'normals', 'more', 'again'));
  const dir = await tempDir();
  await mkdir(path.join(dir, 'train', 'PNEUMONIA', 'sub'), { recursive: true });
  await symlink(path.join(elsewhere, 'normals'), path.join(dir, 'train', 'NORMAL'));
  await symlink(
    path.join(elsewhere, 'person5_virus_9.jpeg'),
    path.join(dir, 'train', 'PNEUMONIA', 'sub', 'p.jpeg'),
  );
  const linkedSplit = await tempDir();
  await symlink(path.join(dir, 'train'), path.join(linkedSplit, 'train'));
  for (const root of [dir, linkedSplit]) {
    const { records, bad } = await discoverDataset(root);
    assert.deepEqual(countBy(records), { 'train/NORMAL': 2, 'train/PNEUMONIA': 1 });
    assert.deepEqual(
      records.map((r) => path.relative(root, r.path)),
      ['train/NORMAL/IM-0001-0001.jpeg', 'train/NORMAL/more/IM-0002-0001.jpeg', 'train/PNEUMONIA/sub/p.jpeg'],
    );
    assert.deepEqual(bad, []);
  }
});

const record = (split: ImageRecord['split']) => ({ split }) as ImageRecord;

test('chooseSplit prefers test, else the only split, else asks', () => {
  assert.equal(chooseSplit([record('train'), record('test')], undefined, 'D'), 'test');
  assert.equal(chooseSplit([record('all')], undefined, 'D'), 'all');
  assert.equal(chooseSplit([record('all')], 'test', 'D'), 'all');
  assert.throws(
    () => chooseSplit([record('train'), record('val')], undefined, 'D'),
    /no test split; choose one with --split/,
  );
  assert.throws(() => chooseSplit([record('train')], 'test', 'D'), /no "test" split; present: train/);
});
