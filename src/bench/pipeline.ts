/**
 * Data-pipeline throughput: decoding image files to grey pixels at the model's size (sharp, as training loads
 * them) plus augmentation (src/data/augment.ts), in images per second.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createAugmenter } from '../data/augment.ts';
import { decodeResized } from '../data/decode.ts';
import { defaultConcurrency, mapPool } from '../data/pool.ts';

/** Where the benchmark looks for images, in order: the full training set, then the committed fixtures. */
export const DEFAULT_IMAGE_DIRS = ['../shared/datasets/chest_xray/train', 'test/fixtures/dataset/train'];

const IMAGE_EXTENSIONS = new Set(['.jpeg', '.jpg', '.png']);

export interface PipelineResult {
  imagesPerSec: number;
  /** Images decoded and augmented. */
  images: number;
  /** The directory they came from. */
  source: string;
}

async function listImages(dir: string, limit: number): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await fs.readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= limit) return;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) found.push(full);
    }
  };
  await walk(dir);
  return found;
}

/** Up to `limit` images from the first directory of `dirs` that has any; null when none has. */
export async function findBenchImages(
  dirs: readonly string[],
  limit: number,
): Promise<{ files: string[]; source: string } | null> {
  for (const dir of dirs) {
    const files = await listImages(dir, limit);
    if (files.length > 0) return { files, source: dir };
  }
  return null;
}

/** Reads, decodes, resizes and augments `files`; files that fail to decode are skipped (and not counted). */
export async function measurePipeline(options: {
  files: string[];
  source: string;
  imageSize: number;
}): Promise<PipelineResult> {
  const { files, imageSize } = options;
  const augmenter = createAugmenter({ seed: 1 });
  const area = imageSize * imageSize;
  const out = new Float32Array(area);
  const started = performance.now();
  const decoded = await mapPool(files, defaultConcurrency(), async (file) => {
    try {
      const { pixels } = await decodeResized(await fs.readFile(file), imageSize);
      augmenter.augmentBatch({ src: pixels, indices: [0], imageSize, out });
      return 1;
    } catch {
      return 0;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const images = decoded.reduce<number>((a, b) => a + b, 0);
  return { imagesPerSec: images / seconds, images, source: options.source };
}
