/** `cxr bench`: training and inference throughput of the engine and of the data pipeline; `--profile`: a training epoch. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type BenchReport, runBench } from '../../bench/run.ts';
import { AUGMENTATION_PRESETS, type AugmentPreset } from '../../data/augment.ts';
import { BACKEND_NAMES, type BackendName, initEngine } from '../../engine/backend.ts';
import { TRAIN_CONFIG_BOUNDS } from '../../train/config.ts';
import { profileTrainingEpoch } from '../../train/profile.ts';
import { boundedArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { alignRows } from '../table.ts';
import { formatEpochProfile } from './bench-profile.ts';

interface BenchCommandOptions {
  json?: boolean;
  backend: string;
  quick?: boolean;
  threads?: number[];
  images?: string;
  profile?: boolean;
  pipeline: boolean;
  imageSize?: number;
  augment?: AugmentPreset | 'none';
}

function formatTable(report: BenchReport): string {
  const rows = [
    ['model', 'size', 'batch', 'threads', 'predict img/s', 'train img/s'],
    ...[report.reference, report.default].flatMap((m) =>
      m.byThreads.map((t) => [
        m.architecture,
        String(m.imageSize),
        String(m.batchSize),
        String(t.threads),
        t.predictImagesPerSec.toFixed(1),
        t.trainImagesPerSec.toFixed(1),
      ]),
    ),
  ];
  const p = report.pipeline;
  const pipeline =
    p.imagesPerSec === null
      ? `pipeline: skipped (${p.note})`
      : `pipeline: ${p.imagesPerSec.toFixed(1)} img/s decode + augment (${p.images} images from ${p.source})`;
  return [`backend ${report.backend}`, ...alignRows(rows), pipeline].join('\n');
}

/** "1,2" -> [1, 2]. */
function threadCounts(value: string): number[] {
  const counts = value.split(',').map((part) => Number(part.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('expected positive integers separated by commas, e.g. 1,2');
  }
  return counts;
}

async function runProfile(options: BenchCommandOptions): Promise<void> {
  if (options.threads && options.threads.length > 1) {
    throw new CliError('--profile runs at one thread count: give --threads a single number');
  }
  await initEngine({ backend: options.backend as BackendName, threads: options.threads?.[0] });
  const profile = await profileTrainingEpoch({
    imageSize: options.imageSize,
    augmentation: options.augment,
    ...(options.quick ? { trainImages: 256, valImages: 64, bareSteps: 2 } : {}),
  });
  process.stdout.write(options.json ? `${JSON.stringify(profile)}\n` : `${formatEpochProfile(profile)}\n`);
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'Measure throughput: the reference CNN (128 px) and the default model, inference and training images/s ' +
        'at batch 32 after warm-up, on 1 and 2 threads, and the data pipeline (decode + augment). Compare with ' +
        'PyTorch in the same session: /usr/bin/python3 ../shared/bench/torch_reference_cnn.py 128 1 ' +
        '(or run src/bench/compare-with-torch.sh). --profile instead times one training epoch of the default ' +
        'model part by part and kernel by kernel.',
    )
    .option('--json', 'print the results as JSON')
    .option('--backend <name>', `TF.js backend: ${BACKEND_NAMES.join(' or ')}`, 'wasm')
    .option(
      '--threads <list>',
      'thread counts to measure, e.g. 1,2 (default 1,2; --profile: one count)',
      threadCounts,
    )
    .option('--quick', 'fewer repetitions and images (a smoke run, not a measurement)')
    .option(
      '--images <dir>',
      'folder of images for the pipeline measurement (default: the training set, else fixtures)',
    )
    .option('--no-pipeline', 'skip the data-pipeline measurement')
    .option('--profile', 'profile one training epoch of the default model (parts and kernels)')
    .option(
      '--image-size <px>',
      "--profile: the default model's input size (default: the architecture's)",
      boundedArg(TRAIN_CONFIG_BOUNDS.imageSize),
    )
    .addOption(
      new Option('--augment <strength>', "--profile: augmentation strength (default: cxr train's)").choices([
        'none',
        ...Object.keys(AUGMENTATION_PRESETS),
      ]),
    )
    .action(async (options: BenchCommandOptions) => {
      if (!BACKEND_NAMES.includes(options.backend as BackendName)) {
        throw new CliError(
          `unknown backend "${options.backend}"; choose one of: ${BACKEND_NAMES.join(', ')}`,
        );
      }
      if (options.profile) return runProfile(options);
      if (options.imageSize !== undefined || options.augment !== undefined) {
        throw new CliError('--image-size and --augment apply to --profile only');
      }
      const report = await runBench({
        backend: options.backend as BackendName,
        threads: options.threads,
        quick: options.quick,
        imageDirs: options.images ? [options.images] : undefined,
        pipeline: options.pipeline,
        onStage:
          options.json || !process.stderr.isTTY
            ? undefined
            : (stage) => process.stderr.write(`measuring ${stage}...\n`),
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatTable(report)}\n`);
    });
}
