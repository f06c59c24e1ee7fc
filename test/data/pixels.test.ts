import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { cacheKey, PixelCache, resolveCacheDir } from '../../src/data/cache.ts';
import { toBytes, toLuma } from '../../src/data/colour.ts';
import { discoverDataset } from '../../src/data/discover.ts';
import { loadPixels } from '../../src/data/pixels.ts';

const FIXTURE = path.resolve('test/fixtures/dataset');
const FULLRES = path.resolve('../shared/datasets/fullres_samples');
const temps: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-pixels-'));
  temps.push(dir);
  return dir;
}

after(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

test('full-resolution 1-channel originals decode to grey pixels of the requested size', async () => {
  const { records } = await discoverDataset(FULLRES);
  assert.equal(records.length, 10);
  const meta = await sharp(records[0].path).metadata();
  assert.equal(meta.channels, 1, 'the originals are 1-channel JPEGs');
  assert.ok((meta.width ?? 0) >= 1000);
  const loaded = await loadPixels(records, { imageSize: 64, cacheDir: null });
  assert.equal(loaded.records.length, 10);
  assert.equal(loaded.pixels.length, 10 * 64 * 64);
  assert.deepEqual(loaded.bad, []);
  assert.equal(loaded.info[0].width, meta.width);
  assert.equal(loaded.info[0].height, meta.height);
  assert.ok(
    loaded.info.every((i) => i.format === 'jpeg' && i.width >= 1000 && /^[0-9a-f]{64}$/.test(i.sha256)),
  );
  const first = loaded.pixels.subarray(0, 64 * 64);
  assert.ok(Math.max(...first) - Math.min(...first) > 100, 'an X-ray has contrast, not a flat image');
});

test('3-channel, 1-channel and PNG fixtures decode to grey; bad files are dropped with reasons', async () => {
  const { records } = await discoverDataset(FIXTURE);
  const loaded = await loadPixels(records, { imageSize: 32, cacheDir: null, concurrency: 3 });
  assert.equal(loaded.records.length, records.length - 1);
  assert.equal(loaded.pixels.length, loaded.records.length * 32 * 32);
  assert.deepEqual(
    loaded.bad.map((b) => b.path),
    [path.join(FIXTURE, 'train/PNEUMONIA/truncated.jpeg')],
  );
  // The same words every run: libvips' own text varies under concurrency and is not used.
  assert.match(
    loaded.bad[0].reason,
    /^truncated JPEG: the file ends before the image data does \(\d+ bytes\)$/,
  );
  assert.deepEqual(loaded.stats, { cacheHits: 0, decoded: records.length, failed: 1, cacheError: undefined });
  // Packed pixels follow the returned records: compare one against a direct resize and BT.601 luma.
  const index = loaded.records.findIndex((r) => r.path.endsWith('person3_bacteria_12.jpeg'));
  assert.ok(index > 0 && loaded.records.slice(0, index).some((r) => r.path.includes('truncated')) === false);
  const rgb = await sharp(loaded.records[index].path).resize(32, 32, { fit: 'fill' }).raw().toBuffer();
  const expected = Buffer.from(toBytes(toLuma({ data: rgb, channels: 3 }).grey));
  assert.deepEqual(Buffer.from(loaded.pixels.subarray(index * 1024, (index + 1) * 1024)), expected);
  const png = loaded.info[loaded.records.findIndex((r) => r.path.endsWith('.png'))];
  assert.equal(png.format, 'png');
  const grey = loaded.info[loaded.records.findIndex((r) => r.path.endsWith('IM-0119-0001.jpeg'))];
  assert.deepEqual([grey.width, grey.height], [120, 96]);
});

test('a file that vanished or lost permission after discovery is a bad file, not an exception', async () => {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'NORMAL'));
  const file = path.join(dir, 'NORMAL', 'IM-0001-0001.jpeg');
  await copyFile(path.join(FIXTURE, 'train/NORMAL/IM-0117-0001.jpeg'), file);
  const { records } = await discoverDataset(dir);
  await rm(file);
  const loaded = await loadPixels(records, { imageSize: 16, cacheDir: null });
  assert.equal(loaded.records.length, 0);
  assert.deepEqual(loaded.bad, [{ path: file, reason: 'cannot read file: no such file or directory' }]);
});

test('a second load reads every image from the cache and decodes nothing', async () => {
  const cacheDir = await tempDir();
  const { records } = await discoverDataset(FIXTURE);
  const cold = await loadPixels(records, { imageSize: 24, cacheDir });
  assert.equal(cold.stats.cacheHits, 0);
  const warm = await loadPixels(records, { imageSize: 24, cacheDir });
  assert.equal(warm.stats.cacheHits, records.length - 1);
  // Only the truncated file, which never reaches the cache, is decoded again.
  assert.equal(warm.stats.decoded, 1);
  assert.deepEqual(warm.records, cold.records);
  assert.deepEqual(warm.info, cold.info);
  assert.deepEqual(Buffer.from(warm.pixels), Buffer.from(cold.pixels));
  assert.deepEqual(
    warm.bad.map((b) => b.path),
    cold.bad.map((b) => b.path),
  );
  const other = await loadPixels(records, { imageSize: 20, cacheDir });
  assert.equal(other.stats.cacheHits, 0, 'another image size is another cache');
  assert.deepEqual((await readdir(cacheDir)).sort(), ['20', '24']);
});

test('a changed file (new mtime) misses the cache and is decoded again', async () => {
  const dir = await tempDir();
  const cacheDir = await tempDir();
  await mkdir(path.join(dir, 'PNEUMONIA'));
  const file = path.join(dir, 'PNEUMONIA', 'person1_virus_1.jpeg');
  await copyFile(path.join(FIXTURE, 'train/PNEUMONIA/person3_bacteria_10.jpeg'), file);
  await loadPixels((await discoverDataset(dir)).records, { imageSize: 16, cacheDir });
  await utimes(file, new Date(), new Date(Date.now() + 5000));
  const again = await loadPixels((await discoverDataset(dir)).records, { imageSize: 16, cacheDir });
  assert.deepEqual([again.stats.cacheHits, again.stats.decoded], [0, 1]);
});

test('packs are merged when they pile up, keeping every entry', async () => {
  const cacheDir = await tempDir();
  const { records } = await discoverDataset(FIXTURE);
  const good = records.filter((r) => !r.path.includes('truncated'));
  for (let i = 0; i < 10; i++) await loadPixels(good.slice(i * 2, i * 2 + 2), { imageSize: 8, cacheDir });
  const files = await readdir(path.join(cacheDir, '8'));
  assert.ok(files.filter((f) => f.endsWith('.json')).length <= 8, `${files.length} files`);
  const cache = await PixelCache.open(cacheDir, 8);
  assert.equal(cache.size, 20);
  assert.ok(cache.info(cacheKey(good[0])));
  const warm = await loadPixels(good.slice(0, 20), { imageSize: 8, cacheDir });
  assert.deepEqual([warm.stats.cacheHits, warm.stats.decoded], [20, 0]);
});

test('the cache folder comes from the option, then CXR_CACHE_DIR, then .cache/pixels', async () => {
  const saved = process.env.CXR_CACHE_DIR;
  try {
    delete process.env.CXR_CACHE_DIR;
    assert.equal(resolveCacheDir(undefined), path.resolve('.cache/pixels'));
    process.env.CXR_CACHE_DIR = '/tmp/somewhere';
    assert.equal(resolveCacheDir(undefined), '/tmp/somewhere');
    assert.equal(resolveCacheDir('rel/dir'), path.resolve('rel/dir'));
    assert.equal(resolveCacheDir(null), null);
    process.env.CXR_CACHE_DIR = 'off';
    assert.equal(resolveCacheDir(undefined), null);
  } finally {
    if (saved === undefined) delete process.env.CXR_CACHE_DIR;
    else process.env.CXR_CACHE_DIR = saved;
  }
});

test("what a killed writer left behind is deleted on the next open; a live writer's files are kept", async () => {
  const root = await tempDir();
  const dir = path.join(root, '8');
  await mkdir(dir);
  const cache = await PixelCache.open(root, 8);
  const entry = {
    key: 'a',
    info: { width: 8, height: 8, format: 'png', sha256: 'x', colourfulness: 0 },
    pixels: new Uint8Array(64),
  };
  assert.equal(await cache.write([entry]), null);
  const [pack] = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  // The pid of a process that has exited: what a writer killed mid-write leaves has its pid in the name.
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const old = new Date(Date.now() - 5 * 60_000);
  const leftovers = [
    `pack-zz-${dead}-0a0a0a0a.bin`, // pixels renamed into place, killed before the index was written
    `pack-zz-${dead}-0b0b0b0b.bin.tmp-${dead}-00ff00ff`, // killed while writing the pixels
    `pack-zz-${dead}-0c0c0c0c.json`, // an index whose pixels are gone
  ];
  const inProgress = [
    `pack-zz-${process.pid}-0d0d0d0d.bin`,
    `pack-zz-${process.pid}-0e0e0e0e.bin.tmp-${process.pid}-11`,
  ];
  const fresh = `pack-zz-${dead}-0f0f0f0f.bin`; // a dead writer's file touched seconds ago: left for now
  for (const name of [...leftovers, ...inProgress, fresh]) {
    await writeFile(path.join(dir, name), new Uint8Array(64));
    if (name !== fresh) await utimes(path.join(dir, name), old, old);
  }
  const reopened = await PixelCache.open(root, 8);
  assert.equal(reopened.size, 1, 'the complete pack is still read');
  assert.deepEqual(
    (await readdir(dir)).sort(),
    [pack.replace('.json', '.bin'), pack, ...inProgress, fresh].sort(),
  );
});
