/**
 * A synthetic dataset in the Kaggle layout for fast training tests: noisy grey squares, where PNEUMONIA images
 * carry a bright blob somewhere in the middle. Easy enough that a few optimiser steps visibly lower the loss.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../src/core/random.ts';

export interface SyntheticDatasetOptions {
  /** Images per class in train/. */
  perClass: number;
  /** Images per class in test/ (0 = no test split). */
  testPerClass?: number;
  size?: number;
  seed?: number;
}

function image(size: number, pneumonia: boolean, random: () => number): Uint8Array {
  const pixels = new Uint8Array(size * size);
  const cx = size * (0.3 + 0.4 * random());
  const cy = size * (0.3 + 0.4 * random());
  const radius = size * (0.12 + 0.08 * random());
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 70 + 40 * random();
      if (pneumonia) v += 130 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius * radius));
      pixels[y * size + x] = Math.min(255, Math.round(v));
    }
  }
  return pixels;
}

async function writeSplit(root: string, split: string, perClass: number, size: number, random: () => number) {
  for (const label of ['NORMAL', 'PNEUMONIA']) {
    const dir = path.join(root, split, label);
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      // Two images per patient, so the patient-level split has something to group.
      const patient = Math.floor(i / 2);
      const name =
        label === 'NORMAL'
          ? `IM-${split === 'test' ? 9 : 1}${String(patient).padStart(3, '0')}-000${i % 2}.png`
          : `person${split === 'test' ? 900 + patient : patient}_bacteria_${i}.png`;
      const pixels = image(size, label === 'PNEUMONIA', random);
      await sharp(pixels, { raw: { width: size, height: size, channels: 1 } })
        .png()
        .toFile(path.join(dir, name));
    }
  }
}

/** Writes the dataset under a new temporary folder and returns its root. */
export async function makeSyntheticDataset(options: SyntheticDatasetOptions): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cxr-synthetic-'));
  const random = seededRandom(options.seed ?? 1);
  const size = options.size ?? 40;
  await writeSplit(root, 'train', options.perClass, size, random);
  if (options.testPerClass) await writeSplit(root, 'test', options.testPerClass, size, random);
  return root;
}
