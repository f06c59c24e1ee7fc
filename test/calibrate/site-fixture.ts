/**
 * A small "site" for calibration tests: labelled grey images whose brightness tells the classes apart only
 * partly (pneumonia images are brighter on average, with overlap), and a model that scores brightness through a
 * batch-norm layer, so its ranking is good but not perfect and AdaBN has statistics to change.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { seededRandom } from '../../src/core/random.ts';

export interface SiteImagesOptions {
  normal: number;
  pneumonia: number;
  size?: number;
  seed?: number;
  /** Write without class folders (unlabelled images). */
  flat?: boolean;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Writes PNGs under `root` (NORMAL/ and PNEUMONIA/, or flat); one image per patient. */
export async function writeSiteImages(root: string, options: SiteImagesOptions): Promise<void> {
  // Big and varied enough for the input gate's cheap checks (at least 48 px, a spread of grey levels).
  const size = options.size ?? 64;
  const random = seededRandom(options.seed ?? 3);
  for (const [label, count, mean] of [
    ['NORMAL', options.normal, 100],
    ['PNEUMONIA', options.pneumonia, 116],
  ] as const) {
    const dir = options.flat ? root : path.join(root, label);
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < count; i++) {
      const level = mean + 12 * gaussian(random);
      const pixels = Uint8Array.from({ length: size * size }, () =>
        Math.max(0, Math.min(255, Math.round(level + 90 * (random() - 0.5)))),
      );
      const name = label === 'NORMAL' ? `IM-${1000 + i}-0001.png` : `person${i + 1}_bacteria_${i + 1}.png`;
      await sharp(pixels, { raw: { width: size, height: size, channels: 1 } })
        .png()
        .toFile(path.join(dir, options.flat ? `${label.toLowerCase()}-${name}` : name));
    }
  }
}

/** sigmoid(8 · mean(BN(x / 127.5 − 1)) + 0.5): brighter images score higher. */
export function brightnessModel(imageSize: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.rescaling({ scale: 1 / 127.5, offset: -1, inputShape: [imageSize, imageSize, 1] }),
      tfl.layers.batchNormalization({ name: 'bn' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tfl.initializers.constant({ value: 8 }),
        biasInitializer: tfl.initializers.constant({ value: 0.5 }),
      }),
    ],
  });
}
