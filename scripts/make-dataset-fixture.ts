/**
 * Rebuilds test/fixtures/dataset/ from ../shared/datasets/chest_xray (CC BY 4.0, see test/fixtures/ATTRIBUTION.md):
 * a tiny Kaggle-layout dataset with known counts, one exact duplicate and one near-duplicate across splits, and
 * bad files. Run: `node --import tsx scripts/make-dataset-fixture.ts`. The test expectations depend on this
 * layout, so change them together.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

const SOURCE = path.resolve('../shared/datasets/chest_xray/train');
const TARGET = path.resolve('test/fixtures/dataset');

/** Where a fixture image comes from and how it is stored. */
interface FixtureImage {
  /** Target path under the fixture root. */
  to: string;
  /** Source file under chest_xray/train. */
  from: string;
  width: number;
  height: number;
  /** Stored as 1-channel grey (the dataset's copies are 3-channel RGB). */
  grey?: boolean;
  png?: boolean;
}

const IMAGES: FixtureImage[] = [
  { to: 'train/NORMAL/IM-0115-0001.jpeg', from: 'NORMAL/IM-0115-0001.jpeg', width: 96, height: 96 },
  { to: 'train/NORMAL/IM-0117-0001.jpeg', from: 'NORMAL/IM-0117-0001.jpeg', width: 96, height: 96 },
  {
    to: 'train/NORMAL/IM-0119-0001.jpeg',
    from: 'NORMAL/IM-0119-0001.jpeg',
    width: 120,
    height: 96,
    grey: true,
  },
  { to: 'train/NORMAL/IM-0429-0001-0001.jpeg', from: 'NORMAL/IM-0429-0001-0001.jpeg', width: 96, height: 96 },
  { to: 'train/NORMAL/IM-0429-0001-0002.jpeg', from: 'NORMAL/IM-0429-0001-0002.jpeg', width: 96, height: 96 },
  {
    to: 'train/NORMAL/NORMAL2-IM-0383-0001.jpeg',
    from: 'NORMAL/NORMAL2-IM-0383-0001.jpeg',
    width: 128,
    height: 96,
    grey: true,
  },
  { to: 'train/NORMAL/IM-0122-0001.png', from: 'NORMAL/IM-0122-0001.jpeg', width: 96, height: 96, png: true },
  {
    to: 'train/PNEUMONIA/person1000_bacteria_2931.jpeg',
    from: 'PNEUMONIA/person1000_bacteria_2931.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'train/PNEUMONIA/person1000_virus_1681.jpeg',
    from: 'PNEUMONIA/person1000_virus_1681.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'train/PNEUMONIA/person3_bacteria_10.jpeg',
    from: 'PNEUMONIA/person3_bacteria_10.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'train/PNEUMONIA/person3_bacteria_11.jpeg',
    from: 'PNEUMONIA/person3_bacteria_11.jpeg',
    width: 96,
    height: 80,
    grey: true,
  },
  {
    to: 'train/PNEUMONIA/person3_bacteria_12.jpeg',
    from: 'PNEUMONIA/person3_bacteria_12.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'train/PNEUMONIA/person1001_bacteria_2932.jpeg',
    from: 'PNEUMONIA/person1001_bacteria_2932.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'train/PNEUMONIA/person1003_virus_1685.jpeg',
    from: 'PNEUMONIA/person1003_virus_1685.jpeg',
    width: 96,
    height: 80,
    grey: true,
  },
  {
    to: 'train/PNEUMONIA/person447_virus_921_1.jpeg',
    from: 'PNEUMONIA/person447_virus_921_1.jpeg',
    width: 96,
    height: 96,
  },
  { to: 'test/NORMAL/IM-0125-0001.jpeg', from: 'NORMAL/IM-0125-0001.jpeg', width: 96, height: 96 },
  { to: 'test/NORMAL/IM-0127-0001.jpeg', from: 'NORMAL/IM-0127-0001.jpeg', width: 96, height: 96 },
  {
    to: 'test/NORMAL/IM-0128-0001.jpeg',
    from: 'NORMAL/IM-0128-0001.jpeg',
    width: 112,
    height: 96,
    grey: true,
  },
  {
    to: 'test/PNEUMONIA/person4_bacteria_14.jpeg',
    from: 'PNEUMONIA/person4_bacteria_14.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'test/PNEUMONIA/person6_bacteria_22.jpeg',
    from: 'PNEUMONIA/person6_bacteria_22.jpeg',
    width: 96,
    height: 96,
  },
  {
    to: 'test/PNEUMONIA/person7_bacteria_24.jpeg',
    from: 'PNEUMONIA/person7_bacteria_24.jpeg',
    width: 96,
    height: 96,
  },
];

async function writeImage(image: FixtureImage): Promise<void> {
  let pipeline = sharp(path.join(SOURCE, image.from)).resize(image.width, image.height, { fit: 'fill' });
  if (image.grey) pipeline = pipeline.toColourspace('b-w');
  const bytes = image.png ? await pipeline.png().toBuffer() : await pipeline.jpeg({ quality: 85 }).toBuffer();
  await writeFile(path.join(TARGET, image.to), bytes);
}

async function main(): Promise<void> {
  await rm(TARGET, { recursive: true, force: true });
  for (const dir of ['train/NORMAL', 'train/PNEUMONIA', 'test/NORMAL', 'test/PNEUMONIA']) {
    await mkdir(path.join(TARGET, dir), { recursive: true });
  }
  for (const image of IMAGES) await writeImage(image);
  const at = (p: string) => path.join(TARGET, p);
  // Leakage cases: a byte-identical copy and a re-encoded, slightly brighter copy of train images in test.
  await copyFile(at('train/NORMAL/IM-0115-0001.jpeg'), at('test/NORMAL/IM-0115-0001.jpeg'));
  const nearCopy = await sharp(at('train/PNEUMONIA/person3_bacteria_10.jpeg'))
    .linear(1.05, 4)
    .jpeg({ quality: 60 })
    .toBuffer();
  await writeFile(at('test/PNEUMONIA/person3_bacteria_10.jpeg'), nearCopy);
  // Bad files: empty, truncated JPEG, text named .jpeg; and a hidden file that must be ignored silently.
  await writeFile(at('train/PNEUMONIA/empty.jpeg'), new Uint8Array(0));
  const whole = await readFile(at('train/PNEUMONIA/person3_bacteria_12.jpeg'));
  await writeFile(at('train/PNEUMONIA/truncated.jpeg'), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(at('test/NORMAL/notes.jpeg'), 'This is not an image.\n');
  await writeFile(at('train/NORMAL/.DS_Store'), Uint8Array.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
}

await main();
