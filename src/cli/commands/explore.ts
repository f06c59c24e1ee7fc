/** `cxr explore`: the data-exploration report of a dataset (counts, patients, sizes, duplicates, bad files). */
import type { Command } from 'commander';
import { CLASS_NAMES } from '../../core/types.ts';
import { DEFAULT_EXPLORE_IMAGE_SIZE, type ExploreSummary, exploreDataset } from '../../explore/explore.ts';
import { writeExploreReport } from '../../explore/report.ts';
import { integerArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { startProgress } from '../progress.ts';

interface ExploreCommandOptions {
  data: string;
  out: string;
  imageSize: number;
  cacheDir?: string;
  /** commander sets this to false for --no-cache. */
  cache: boolean;
  samples: number;
  nearThreshold?: number;
  json?: boolean;
  quiet?: boolean;
}

function textSummary(summary: ExploreSummary, reportPath: string): string {
  const lines = [`Dataset ${summary.dataRoot}`];
  for (const [split, c] of Object.entries(summary.images)) {
    lines.push(
      `  ${split.padEnd(5)} ${CLASS_NAMES.map((k) => `${k} ${c[k]}`).join(', ')} (total ${c.total})`,
    );
  }
  const { exact, near } = summary.duplicates;
  lines.push(
    `  patients: ${CLASS_NAMES.map((k) => `${k} ${summary.patients.total[k]}`).join(', ')}` +
      `; in more than one split: ${summary.patients.crossSplit.count}`,
    `  exact duplicates: ${exact.groups} groups (${exact.extraCopies} extra copies, ${exact.crossSplitGroups} across splits)`,
    `  near-duplicates: ${near.groups} groups (${near.crossSplitGroups} across splits, threshold ${near.threshold} bits)`,
    `  unreadable files: ${summary.badFiles.count}`,
  );
  for (const b of summary.badFiles.list.slice(0, 10)) lines.push(`    ${b.path}: ${b.reason}`);
  if (summary.badFiles.count > 10) lines.push(`    … ${summary.badFiles.count - 10} more in summary.json`);
  lines.push(`Report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}

async function runExplore(options: ExploreCommandOptions): Promise<void> {
  const showProgress = !options.quiet && !options.json;
  const scanBar = startProgress('Scanning', { quiet: !showProgress });
  const decodeBar = startProgress('Decoding', { quiet: !showProgress });
  let result: Awaited<ReturnType<typeof exploreDataset>>;
  try {
    result = await exploreDataset({
      dataDir: options.data,
      imageSize: options.imageSize,
      cacheDir: options.cache ? options.cacheDir : null,
      samplesPerClass: options.samples,
      nearDuplicateThreshold: options.nearThreshold,
      onProgress: (stage, done, total) => (stage === 'scan' ? scanBar : decodeBar).update(done, total),
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  } finally {
    scanBar.stop();
    decodeBar.stop();
  }
  const written = await writeExploreReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
  else process.stdout.write(textSummary(result.summary, written.reportPath));
}

export function registerExploreCommand(program: Command): void {
  program
    .command('explore')
    .description(
      'Explore a dataset in the Kaggle layout (DIR/{train,val,test}/{NORMAL,PNEUMONIA} or DIR/{NORMAL,PNEUMONIA}):\n' +
        'counts, patients, subtypes, image sizes, intensities, mean and sample images, duplicates, bad files.\n' +
        'Writes OUT/report.html (self-contained), OUT/summary.json and every chart as PNG and SVG.',
    )
    .requiredOption('--data <dir>', 'dataset folder')
    .option('--out <dir>', 'output folder', 'reports/explore')
    .option(
      '--image-size <px>',
      'side of the square grey images used for intensity, mean and sample images',
      integerArg(8),
      DEFAULT_EXPLORE_IMAGE_SIZE,
    )
    .option('--cache-dir <dir>', 'preprocessing cache folder (default: $CXR_CACHE_DIR or .cache/pixels)')
    .option('--no-cache', 'decode every image, and do not store the result')
    .option('--samples <n>', 'sample images per class in the grids', integerArg(1), 16)
    .option('--near-threshold <bits>', 'Hamming distance (of 256 bits) for near-duplicates', integerArg(0))
    .option('--json', 'print summary.json to stdout instead of the text summary')
    .option('--quiet', 'no progress bars')
    .addHelpText(
      'after',
      '\nExample:\n  cxr explore --data data/chest_xray --out reports/explore\n' +
        '\nA second run reads decoded pixels from the cache and takes seconds.',
    )
    .action(runExplore);
}
