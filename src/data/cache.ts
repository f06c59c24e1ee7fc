/**
 * The preprocessing cache: decoded, resized grey pixels stored once on disk so a second pass over a dataset
 * reads a few large files instead of decoding thousands of JPEGs.
 *
 * Layout: `<dir>/<imageSize>/pack-<id>.bin` holds `imageSize * imageSize` bytes per image, back to back, and
 * `pack-<id>.json` lists the entries in the same order. A pack is written once (temporary name, then rename, index
 * last), never modified, so several processes can share a cache without locks; later packs win. An entry's key
 * is (absolute path, file size, mtime): an edited file simply misses and is decoded again. A writer killed half
 * way leaves a temporary file or a pack without its index; the next `open` deletes those once their writer is
 * gone (every name carries the writer's process id).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageRecord } from '../core/types.ts';
import type { DicomAttributes } from './decoders/decoder.ts';
import { mapPool } from './pool.ts';

/** Default cache location, relative to the current working directory (git-ignored). */
export const DEFAULT_CACHE_DIR = '.cache/pixels';
/** Environment variable that moves the cache; `off` disables it. */
export const CACHE_DIR_ENV = 'CXR_CACHE_DIR';
/** Above this many packs per image size, the next write merges them all into one. */
const MAX_PACKS = 8;
/** Buffers per write call (below IOV_MAX on every platform). */
const WRITE_BATCH = 256;
/** A leftover whose writer process is gone is removed once it is this old (a live writer keeps mtime fresh). */
const ORPHAN_GRACE_MS = 60_000;
/** A leftover is removed after this long whatever its name says (a writer on another machine sharing the cache). */
const ORPHAN_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** What is known about an image besides its pixels; stored with them so a cached pass needs no file reads. */
export interface ImageInfo {
  /** Original width and height in pixels, before resizing. */
  width: number;
  height: number;
  /** Decoder that read it (`jpeg`, `png`, `dicom`). */
  format: string;
  /** sha256 of the file's bytes (exact-duplicate detection). */
  sha256: string;
  /** Colourfulness before grey conversion (0 = grey; src/data/colour.ts), for the input gate. */
  colourfulness: number;
  /** What a DICOM file says it shows, when it says so (for the input gate). */
  dicom?: DicomAttributes;
}

/**
 * Version of the pack index. 2: pixels follow the one pixel rule of src/data/decode.ts (no ICC profiles, BT.601
 * luma, 16-bit windowing) and entries carry colourfulness. 3: images are turned upright by their EXIF
 * Orientation tag. 4: every container gets a JPEG's shrink-on-load before the resize
 * (src/data/decoders/raster.ts). Packs of other versions are ignored and re-decoded.
 */
const PACK_VERSION = 4;

interface PackIndex {
  version: typeof PACK_VERSION;
  imageSize: number;
  entries: (ImageInfo & { key: string })[];
}

interface Location {
  pack: string;
  slot: number;
  info: ImageInfo;
}

/** One image to store: its key, what is known about it, and its pixels. */
export interface CacheEntry {
  key: string;
  info: ImageInfo;
  pixels: Uint8Array;
}

/** The cache key of a record: any change of path, size or modification time makes a new key. */
export function cacheKey(record: Pick<ImageRecord, 'path' | 'size' | 'mtimeMs'>): string {
  return `${record.path}\t${record.size}\t${record.mtimeMs}`;
}

/**
 * The cache folder to use: an explicit option wins (`null` disables), then `$CXR_CACHE_DIR` (`off`
 * disables), then `.cache/pixels` under the current directory.
 */
export function resolveCacheDir(option?: string | null): string | null {
  if (option === null) return null;
  if (option !== undefined) return path.resolve(option);
  const env = process.env[CACHE_DIR_ENV];
  if (env === 'off') return null;
  return path.resolve(env || DEFAULT_CACHE_DIR);
}

/** The packs of one image size: look up keys, read pixels, add new entries as one new pack. */
export class PixelCache {
  readonly dir: string;
  readonly imageSize: number;
  private readonly locations: Map<string, Location>;
  private readonly packs: string[];

  private constructor(dir: string, imageSize: number, locations: Map<string, Location>, packs: string[]) {
    this.dir = dir;
    this.imageSize = imageSize;
    this.locations = locations;
    this.packs = packs;
  }

  /** Loads the indexes of every pack for `imageSize` under `root`. Unreadable indexes are ignored. */
  static async open(root: string, imageSize: number): Promise<PixelCache> {
    const dir = path.join(root, String(imageSize));
    let names = await readdir(dir).catch(() => [] as string[]);
    const removed = await removeOrphans(dir, names);
    if (removed.size > 0) names = names.filter((n) => !removed.has(n));
    const packs = names.filter((n) => /^pack-[\w-]+\.json$/.test(n)).sort();
    const locations = new Map<string, Location>();
    for (const name of packs) {
      const index = await readIndex(path.join(dir, name), imageSize);
      const pack = path.join(dir, name.replace(/\.json$/, '.bin'));
      index?.entries.forEach(({ key, ...info }, slot) => {
        locations.set(key, { pack, slot, info });
      });
    }
    return new PixelCache(dir, imageSize, locations, packs);
  }

  /** Number of entries known. */
  get size(): number {
    return this.locations.size;
  }

  /** What the cache knows about `key`, without reading pixels. */
  info(key: string): ImageInfo | undefined {
    return this.locations.get(key)?.info;
  }

  /**
   * Reads the pixels of each key into its target (exactly imageSize² bytes). Returns the keys that could not be
   * read (missing entry, pack deleted meanwhile), which the caller decodes instead.
   */
  async read(requests: { key: string; target: Uint8Array }[], concurrency = 16): Promise<Set<string>> {
    const failed = new Set<string>();
    const byPack = new Map<string, { slot: number; key: string; target: Uint8Array }[]>();
    for (const { key, target } of requests) {
      const loc = this.locations.get(key);
      if (!loc) {
        failed.add(key);
        continue;
      }
      const list = byPack.get(loc.pack) ?? [];
      list.push({ slot: loc.slot, key, target });
      byPack.set(loc.pack, list);
    }
    const bytes = this.imageSize * this.imageSize;
    for (const [pack, items] of byPack) {
      const handle = await open(pack, 'r').catch(() => null);
      if (!handle) {
        for (const item of items) failed.add(item.key);
        continue;
      }
      try {
        await mapPool(items, concurrency, async (item) => {
          const { bytesRead } = await handle.read(item.target, 0, bytes, item.slot * bytes);
          if (bytesRead !== bytes) failed.add(item.key);
        });
      } finally {
        await handle.close();
      }
    }
    return failed;
  }

  /**
   * Stores new entries as one new pack. When packs pile up, they are merged first (latest entry per key wins)
   * so lookups stay fast. Errors are returned, not thrown: a cache that cannot be written only costs speed.
   */
  async write(entries: CacheEntry[]): Promise<Error | null> {
    if (entries.length === 0) return null;
    try {
      const bytes = this.imageSize * this.imageSize;
      const wrong = entries.find((e) => e.pixels.length !== bytes);
      if (wrong)
        throw new Error(`cache entry ${wrong.key} has ${wrong.pixels.length} bytes, expected ${bytes}`);
      await mkdir(this.dir, { recursive: true });
      const merge = this.packs.length + 1 > MAX_PACKS;
      if (merge) entries = await this.mergeWith(entries);
      const id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
      // Names carry the writer's pid so a later open can tell a killed writer's leftovers from work in progress.
      await writePack(path.join(this.dir, `pack-${id}`), entries, this.imageSize);
      if (merge) await this.removeOldPacks();
      return null;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  /** All cached entries plus the new ones (new ones win), for a merged pack. */
  private async mergeWith(entries: CacheEntry[]): Promise<CacheEntry[]> {
    const fresh = new Set(entries.map((e) => e.key));
    const old = [...this.locations.entries()].filter(([key]) => !fresh.has(key));
    const targets = old.map(([key, loc]) => ({
      key,
      info: loc.info,
      pixels: new Uint8Array(this.imageSize ** 2),
    }));
    const failed = await this.read(targets.map((t) => ({ key: t.key, target: t.pixels })));
    return [...targets.filter((t) => !failed.has(t.key)), ...entries];
  }

  private async removeOldPacks(): Promise<void> {
    for (const name of this.packs) {
      const json = path.join(this.dir, name);
      await rm(json, { force: true });
      await rm(json.replace(/\.json$/, '.bin'), { force: true });
    }
  }
}

async function readIndex(file: string, imageSize: number): Promise<PackIndex | null> {
  try {
    const index = JSON.parse(await readFile(file, 'utf8')) as PackIndex;
    if (index.version !== PACK_VERSION || index.imageSize !== imageSize || !Array.isArray(index.entries))
      return null;
    return index;
  } catch {
    return null;
  }
}

/** Writes `<base>.bin` then `<base>.json`, each under a temporary name first, so readers never see half a pack. */
async function writePack(base: string, entries: CacheEntry[], imageSize: number): Promise<void> {
  const tmp = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(`${base}.bin${tmp}`, 'w');
  try {
    for (let i = 0; i < entries.length; i += WRITE_BATCH) {
      await handle.writev(entries.slice(i, i + WRITE_BATCH).map((e) => e.pixels));
    }
  } finally {
    await handle.close();
  }
  await rename(`${base}.bin${tmp}`, `${base}.bin`);
  const index: PackIndex = {
    version: PACK_VERSION,
    imageSize,
    entries: entries.map((e) => ({ key: e.key, ...e.info })),
  };
  await writeFile(`${base}.json${tmp}`, JSON.stringify(index));
  await rename(`${base}.json${tmp}`, `${base}.json`);
}

/** Whether a process with this id is running here (EPERM: it is, under another user). */
function processRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes what killed writers left behind in `dir`: temporary files, a pack's pixels without its index, an index
 * without its pixels. A leftover goes once its writer (the pid in its name) is no longer running and it has not
 * been touched for a minute, or after a day in any case. Returns the names removed; failures are ignored (the
 * cache only costs disk space, never correctness).
 */
async function removeOrphans(dir: string, names: string[]): Promise<Set<string>> {
  const present = new Set(names);
  const removed = new Set<string>();
  const now = Date.now();
  for (const name of names) {
    const temp = /\.tmp-(?:(\d+)-)?[0-9a-f]+$/.exec(name);
    const pack = /^(pack-[0-9a-z]+-(\d+)-[0-9a-f]+)\.(bin|json)$/.exec(name);
    let pid: number | undefined;
    if (temp) pid = temp[1] ? Number(temp[1]) : undefined;
    else if (pack && !present.has(`${pack[1]}.${pack[3] === 'bin' ? 'json' : 'bin'}`)) pid = Number(pack[2]);
    else continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (!info) continue;
    const age = now - info.mtimeMs;
    const writerGone = pid !== undefined && !processRunning(pid);
    if ((writerGone && age > ORPHAN_GRACE_MS) || age > ORPHAN_MAX_AGE_MS) {
      await rm(file, { force: true }).then(
        () => removed.add(name),
        () => {},
      );
    }
  }
  return removed;
}
