/** PATH expansion: files, recursive directories, globs, missing paths; bytes read only on demand. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DecodeError } from '../../src/data/decode-error.ts';
import { expandPaths, globFiles } from '../../src/predict/inputs.ts';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cxr-inputs-'));
  const files = [
    'a/one.jpeg',
    'a/two.PNG',
    'a/deep/three.dcm',
    'a/deep/IM000001',
    'a/deep/DICOMDIR',
    'a/notes.txt',
    'a/.hidden.jpeg',
    'b/four.jpg',
  ];
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), file);
  }
});

after(() => rm(root, { recursive: true, force: true }));

const names = (inputs: { name: string }[]) => inputs.map((i) => path.relative(root, i.name));

describe('expandPaths', () => {
  test('walks directories recursively, in order, taking image-like files and listing the others', async () => {
    const { inputs, skipped } = await expandPaths([path.join(root, 'a')]);
    assert.deepEqual(names(inputs), ['a/deep/IM000001', 'a/deep/three.dcm', 'a/one.jpeg', 'a/two.PNG']);
    assert.deepEqual(
      skipped.map((s) => [path.relative(root, s.path), s.reason]),
      [
        ['a/deep/DICOMDIR', 'a DICOM directory index, not an image'],
        ['a/notes.txt', 'not an image (JPEG, PNG, WebP, TIFF or DICOM expected)'],
      ],
    );
  });

  test('WebP and TIFF are taken by extension, and an image with an odd extension by its bytes', async () => {
    const dir = path.join(root, 'formats');
    await mkdir(dir);
    await writeFile(path.join(dir, 'scan.webp'), 'x');
    await writeFile(path.join(dir, 'scan.TIFF'), 'x');
    await writeFile(path.join(dir, 'scan.img'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    await writeFile(path.join(dir, 'readme.md'), '# notes');
    const { inputs, skipped } = await expandPaths([dir]);
    assert.deepEqual(names(inputs), ['formats/scan.TIFF', 'formats/scan.img', 'formats/scan.webp']);
    assert.deepEqual(names(skipped.map((s) => ({ name: s.path }))), ['formats/readme.md']);
    await rm(dir, { recursive: true });
  });

  test('follows linked folders and files inside a folder; a link loop is walked once', async () => {
    const linked = path.join(root, 'linked');
    await mkdir(linked);
    await symlink(path.join(root, 'b'), path.join(linked, 'folder'));
    await symlink(path.join(root, 'a', 'one.jpeg'), path.join(linked, 'file.jpeg'));
    await symlink(linked, path.join(linked, 'loop'));
    await symlink(path.join(root, 'gone.jpeg'), path.join(linked, 'dangling.jpeg'));
    const inputs = (await expandPaths([linked])).inputs;
    assert.deepEqual(names(inputs), ['linked/dangling.jpeg', 'linked/file.jpeg', 'linked/folder/four.jpg']);
    await assert.rejects(inputs[0].read(), /no such file or directory/);
    assert.equal(new TextDecoder().decode(await inputs[1].read()), 'a/one.jpeg');
    await rm(linked, { recursive: true });
  });

  test('an explicit file is taken whatever its extension; duplicates are dropped', async () => {
    const notes = path.join(root, 'a/notes.txt');
    const inputs = (await expandPaths([notes, path.join(root, 'b'), path.join(root, 'b/four.jpg'), notes]))
      .inputs;
    assert.deepEqual(names(inputs), ['a/notes.txt', 'b/four.jpg']);
    assert.equal(new TextDecoder().decode(await inputs[0].read()), 'a/notes.txt');
  });

  test('globs: *, ** and {a,b}', async () => {
    assert.deepEqual(names((await expandPaths([path.join(root, '*/*.jp*g')])).inputs), [
      'a/one.jpeg',
      'b/four.jpg',
    ]);
    assert.deepEqual(names((await expandPaths([path.join(root, 'a/**/*.dcm')])).inputs), [
      'a/deep/three.dcm',
    ]);
    assert.deepEqual(
      (await globFiles(path.join(root, '{a,b}/**/t*'))).map((f) => path.relative(root, f)),
      ['a/deep/three.dcm', 'a/two.PNG'],
    );
  });

  test('a missing path or an empty glob becomes an input that fails clearly', async () => {
    const inputs = (await expandPaths([path.join(root, 'nope.jpeg'), path.join(root, '*.gif')])).inputs;
    assert.equal(inputs.length, 2);
    await assert.rejects(
      inputs[0].read(),
      (err) => err instanceof DecodeError && /no such file/.test(err.message),
    );
    await assert.rejects(inputs[1].read(), /no files match/);
  });

  test('a file deleted after expansion fails when read, not before', async () => {
    const file = path.join(root, 'b/gone.jpeg');
    await writeFile(file, 'x');
    const [input] = (await expandPaths([file])).inputs;
    await rm(file);
    await assert.rejects(input.read(), { code: 'unreadable', message: 'no such file or directory' });
  });
});
