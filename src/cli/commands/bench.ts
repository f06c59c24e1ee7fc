/** `cxr bench`: training and inference throughput of the engine, and of the data pipeline. */
import type { Command } from 'commander';
import { type BenchReport, runBench } from '../../bench/run.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { CliError } from '../errors.ts';

interface BenchCommandOptions {
  json?: boolean;
  backend: string;
  quick?: boolean;
  threads?: string;
  images?: string;
}

function formatTable(report: BenchReport): string {
  const rows = [
    ['model', 'size', 'batch', 'predict img/s', 'train img/s'],
    ...[report.reference, report.default].map((m) => [
      m.architecture,
      String(m.imageSize),
      String(m.batchSize),
      m.predictImagesPerSec.toFixed(1),
      m.trainImagesPerSec.toFixed(1),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '),
  );
  const p = report.pipeline;
  const pipeline =
    p.imagesPerSec === null
      ? `pipeline: skipped (${p.note})`
      : `pipeline: ${p.imagesPerSec.toFixed(1)} img/s decode + augment (${p.images} images from ${p.source})`;
  return [`backend ${report.backend}, ${report.threads} thread(s)`, ...lines, pipeline].join('\n');
}

function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1)
    throw new CliError(`--threads must be a positive integer, got "${value}"`);
  return threads;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'Measure throughput: the reference CNN (128 px) and the default model, inference and training images/s ' +
        'at batch 32 after warm-up, and the data pipeline (decode + augment). Compare with PyTorch in the same ' +
        'session: /usr/bin/python3 ../shared/bench/torch_reference_cnn.py 128 1',
    )
    .option('--json', 'print the results as JSON')
    .option('--backend <name>', `TF.js backend: ${BACKEND_NAMES.join(' or ')}`, 'wasm')
    .option('--threads <n>', 'wasm threads (default: $CXR_WASM_THREADS, else 1)')
    .option('--quick', 'fewer repetitions and images (a smoke run, not a measurement)')
    .option(
      '--images <dir>',
      'folder of images for the pipeline measurement (default: the training set, else fixtures)',
    )
    .action(async (options: BenchCommandOptions) => {
      if (!BACKEND_NAMES.includes(options.backend as BackendName)) {
        throw new CliError(
          `unknown backend "${options.backend}"; choose one of: ${BACKEND_NAMES.join(', ')}`,
        );
      }
      const report = await runBench({
        backend: options.backend as BackendName,
        threads: parseThreads(options.threads),
        quick: options.quick,
        imageDirs: options.images ? [options.images] : undefined,
        onStage:
          options.json || !process.stderr.isTTY
            ? undefined
            : (stage) => process.stderr.write(`measuring ${stage}...\n`),
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatTable(report)}\n`);
    });
}
