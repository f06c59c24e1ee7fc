/** `cxr predict`: score images and DICOM files and write a worklist ranked by probability. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { supportedEncodingsSummary } from '../../data/decoders/transfer-syntaxes.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { expandPaths } from '../../predict/inputs.ts';
import {
  formatCsv,
  formatJson,
  heatmapFileName,
  OUTPUT_FORMATS,
  type OutputFormat,
  toRows,
} from '../../predict/output.ts';
import { DEFAULT_BATCH_SIZE, Predictor } from '../../predict/predictor.ts';
import type { PredictResult } from '../../predict/types.ts';
import { integerArg, probabilityArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { startProgress } from '../progress.ts';

/** Exit status when every input was scored. */
export const EXIT_ALL_SCORED = 0;
/** Exit status when the worklist was written but some inputs could not be scored (their rows carry `error`). */
export const EXIT_SOME_FAILED = 2;

interface PredictCommandOptions {
  /** Unset = the shipped model (DEFAULT_MODEL_DIR, found relative to the package, not the working directory). */
  model?: string;
  format: OutputFormat;
  json?: boolean;
  out?: string;
  heatmaps?: string;
  threshold?: number;
  batchSize: number;
  backend: BackendName;
  maxPixels?: number;
  quiet?: boolean;
}

async function loadPredictor(options: PredictCommandOptions): Promise<Predictor> {
  const modelDir = options.model ?? DEFAULT_MODEL_DIR;
  if (!existsSync(modelDir)) {
    throw new CliError(
      `model directory ${modelDir} does not exist; train one with \`cxr train\` or pass --model DIR`,
    );
  }
  try {
    return await Predictor.load(modelDir, { backend: options.backend });
  } catch (err) {
    throw new CliError(`cannot load model from ${modelDir}: ${(err as Error).message}`);
  }
}

/** Writes each heatmap as soon as its input is scored, so PNG bytes never pile up in memory. */
function heatmapWriter(dir: string) {
  const paths = new Map<string, string>();
  const taken = new Set<string>();
  const onResult = async (result: PredictResult) => {
    if (!result.heatmapPng) return;
    const file = heatmapFileName(result.name, dir, taken);
    await writeFile(file, result.heatmapPng);
    paths.set(result.name, file);
    delete result.heatmapPng;
  };
  return { paths, onResult };
}

async function predict(paths: string[], options: PredictCommandOptions): Promise<void> {
  const format: OutputFormat = options.json ? 'json' : options.format;
  const inputs = await expandPaths(paths);
  if (inputs.length === 0) throw new CliError(`no images found in ${paths.join(', ')}`);
  const predictor = await loadPredictor(options);
  if (options.heatmaps) await mkdir(options.heatmaps, { recursive: true });
  const heatmaps = options.heatmaps ? heatmapWriter(options.heatmaps) : undefined;
  const bar = startProgress('predict', { quiet: options.quiet });
  let results: PredictResult[];
  try {
    results = await predictor.predict(inputs, {
      heatmaps: heatmaps !== undefined,
      threshold: options.threshold,
      maxPixels: options.maxPixels,
      batchSize: options.batchSize,
      onProgress: bar.update,
      onResult: heatmaps?.onResult,
    });
  } finally {
    bar.stop();
    predictor.dispose();
  }
  const { metadata } = predictor;
  const context = {
    threshold: options.threshold ?? metadata.threshold,
    model: `${metadata.name} ${metadata.version}`,
  };
  const rows = toRows(results, context, heatmaps?.paths);
  const text = format === 'json' ? formatJson(rows) : formatCsv(rows, { heatmaps: heatmaps !== undefined });
  if (options.out) {
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await writeFile(options.out, text);
  } else {
    process.stdout.write(text);
  }
  reportToStderr(results, options);
}

/** Warnings and failures go to stderr (the worklist itself stays machine-readable). */
function reportToStderr(results: PredictResult[], options: PredictCommandOptions): void {
  const failed = results.filter((r) => r.error);
  for (const r of results)
    for (const w of r.warnings ?? []) process.stderr.write(`cxr predict: ${r.name}: ${w}\n`);
  for (const r of failed) process.stderr.write(`cxr predict: ${r.name}: ${r.error!.message}\n`);
  if (!options.quiet) {
    const where = options.out ? ` -> ${options.out}` : '';
    process.stderr.write(
      `cxr predict: scored ${results.length - failed.length} of ${results.length} inputs` +
        `${failed.length > 0 ? `, ${failed.length} failed` : ''}${where}\n`,
    );
  }
  process.exitCode = failed.length > 0 ? EXIT_SOME_FAILED : EXIT_ALL_SCORED;
}

const HELP_AFTER = `
Output: one row per input, highest probability first (the order to read them in):
  path, probability (calibrated P(PNEUMONIA)), label (at the model's stored threshold unless --threshold),
  rank (1 = read first), heatmap (with --heatmaps), error (why an input could not be scored).
  Failed inputs are ranked after all scored ones. Not a medical device: a triage aid, never a diagnosis.

Inputs: files, directories (searched recursively for .jpg/.jpeg/.png/.dcm/.dicom and extension-less files)
  and glob patterns (*, ?, [...], {a,b}, **). JPEG, PNG and DICOM are recognised from their bytes.
  DICOM pixel data read: ${supportedEncodingsSummary()}.
  Patient identifiers in DICOM files are never printed or written.

Exit status:
  ${EXIT_ALL_SCORED}  every input was scored
  1  nothing was scored (bad options, no model, no inputs found)
  ${EXIT_SOME_FAILED}  the worklist was written, but some inputs failed (corrupt, unsupported, empty, too large);
     their rows carry the error, and each is also reported on stderr

Examples:
  cxr predict scans/                          CSV worklist of every image under scans/
  cxr predict --format json --out list.json 'scans/**/*.dcm'
  cxr predict --heatmaps out/heatmaps scans/patient1.dcm`;

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('Score chest X-rays (JPEG, PNG, DICOM) and write a worklist ranked by probability')
    .argument('<paths...>', 'image files, directories (recursive) or glob patterns')
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS).default('csv'))
    .option('--json', 'same as --format json')
    .option('-o, --out <file>', 'write the worklist to FILE instead of stdout')
    .option('--heatmaps <dir>', 'also write a Grad-CAM overlay PNG per scored input into DIR (slower)')
    .option(
      '-t, --threshold <t>',
      "label threshold on the probability (default: the model's own)",
      probabilityArg,
    )
    .option('-b, --batch-size <n>', 'images per forward pass', integerArg(1), DEFAULT_BATCH_SIZE)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--max-pixels <n>', 'refuse images with more decoded pixels than this', integerArg(1))
    .option('-q, --quiet', 'no progress bar or summary line on stderr')
    .addHelpText('after', HELP_AFTER)
    .action(async (paths: string[], options: PredictCommandOptions) => predict(paths, options));
}
