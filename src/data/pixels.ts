/**
 * Loading a dataset's pixels at the model's input size: decode (grey, resized, uint8) with several images in
 * flight, or read them from the preprocessing cache. Files that fail to decode are dropped and reported, never
 * abort the batch.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fsErrorMessage } from '../core/fs-errors.ts';
import type { ProgressCallback } from '../core/progress.ts';
import type { BadFile, ImageRecord } from '../core/types.ts';
import { type CacheEntry, cacheKey, type ImageInfo, PixelCache, resolveCacheDir } from './cache.ts';
import { decodeResized } from './decode.ts';
import { DecodeError } from './decode-error.ts';
import { defaultConcurrency, mapPool } from './pool.ts';

export interface LoadPixelsOptions {
  /** Square side the images are resized to. */
  imageSize: number;
  /**
   * Cache folder; `undefined` uses `$CXR_CACHE_DIR` or `.cache/pixels` under the current directory, `null`
   * disables the cache.
   */
  cacheDir?: string | null;
  /** Decodes in flight at once (default: twice the CPU cores). */
  concurrency?: number;
  onProgress?: ProgressCallback;
}

/** Where the pixels came from, for progress messages and for tests that must prove a warm pass decodes nothing. */
export interface LoadStats {
  /** Images read from the cache. */
  cacheHits: number;
  /** Files read and decoded this time (those that failed included). */
  decoded: number;
  /** Files that could not be read or decoded (listed in `bad`). */
  failed: number;
  /** Set when the cache could not be written (the load itself still succeeded). */
  cacheError?: string;
}

export interface LoadedPixels {
  /** The records that decoded, in input order. */
  records: ImageRecord[];
  /** imageSize² bytes per record, in the order of `records`. */
  pixels: Uint8Array;
  /** Original size, format and content hash of each record, in the order of `records`. */
  info: ImageInfo[];
  /** Records that could not be read or decoded, with the reason. */
  bad: BadFile[];
  stats: LoadStats;
}

type SlotResult = { ok: true; info: ImageInfo } | { ok: false; reason: string };

function failureReason(err: unknown): string {
  if (err instanceof DecodeError) return err.message;
  return `cannot read file: ${fsErrorMessage(err)}`;
}

async function decodeInto(record: ImageRecord, target: Uint8Array, imageSize: number): Promise<SlotResult> {
  try {
    const bytes = await readFile(record.path);
    const decoded = await decodeResized(bytes, imageSize);
    target.set(decoded.pixels);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const info: ImageInfo = {
      ...decoded.original,
      format: decoded.format,
      sha256,
      colourfulness: decoded.colourfulness,
      ...(decoded.dicom ? { dicom: decoded.dicom } : {}),
    };
    return { ok: true, info };
  } catch (err) {
    return { ok: false, reason: failureReason(err) };
  }
}

/** Packs the successful slots to the front, in order, dropping failed ones. */
function compact(
  records: readonly ImageRecord[],
  results: SlotResult[],
  pixels: Uint8Array,
  bytes: number,
): LoadedPixels {
  const kept: ImageRecord[] = [];
  const info: ImageInfo[] = [];
  const bad: BadFile[] = [];
  results.forEach((result, i) => {
    if (!result.ok) {
      bad.push({ path: records[i].path, reason: result.reason });
      return;
    }
    if (kept.length !== i) pixels.copyWithin(kept.length * bytes, i * bytes, (i + 1) * bytes);
    kept.push(records[i]);
    info.push(result.info);
  });
  const stats = { cacheHits: 0, decoded: 0, failed: bad.length };
  return { records: kept, pixels: pixels.subarray(0, kept.length * bytes), info, bad, stats };
}

/**
 * Loads every record's pixels at `imageSize`, from the cache when the file is unchanged, decoding otherwise,
 * and stores newly decoded images in the cache.
 */
export async function loadPixels(
  records: readonly ImageRecord[],
  options: LoadPixelsOptions,
): Promise<LoadedPixels> {
  const { imageSize } = options;
  if (!Number.isInteger(imageSize) || imageSize < 1) throw new Error(`invalid image size ${imageSize}`);
  const bytes = imageSize * imageSize;
  const pixels = new Uint8Array(records.length * bytes);
  const slot = (i: number) => pixels.subarray(i * bytes, (i + 1) * bytes);
  const cacheDir = resolveCacheDir(options.cacheDir);
  const cache = cacheDir === null ? null : await PixelCache.open(cacheDir, imageSize);
  const results = new Array<SlotResult | undefined>(records.length);
  let done = 0;
  const progress = () => options.onProgress?.(done, records.length);

  if (cache) {
    const requests: { key: string; target: Uint8Array }[] = [];
    records.forEach((r, i) => {
      if (cache.info(cacheKey(r))) requests.push({ key: cacheKey(r), target: slot(i) });
    });
    const failed = await cache.read(requests);
    records.forEach((r, i) => {
      const key = cacheKey(r);
      const info = cache.info(key);
      if (info && !failed.has(key)) results[i] = { ok: true, info };
    });
    done = results.filter(Boolean).length;
    progress();
  }
  const hits = done;

  const misses = records.flatMap((_, i) => (results[i] ? [] : [i]));
  await mapPool(misses, options.concurrency ?? defaultConcurrency(), async (i) => {
    results[i] = await decodeInto(records[i], slot(i), imageSize);
    done++;
    progress();
  });

  let cacheError: string | undefined;
  if (cache) {
    const entries: CacheEntry[] = [];
    for (const i of misses) {
      const result = results[i]!;
      if (result.ok) entries.push({ key: cacheKey(records[i]), info: result.info, pixels: slot(i) });
    }
    cacheError = (await cache.write(entries))?.message;
  }
  const loaded = compact(records, results as SlotResult[], pixels, bytes);
  loaded.stats = { cacheHits: hits, decoded: misses.length, failed: loaded.bad.length, cacheError };
  return loaded;
}
