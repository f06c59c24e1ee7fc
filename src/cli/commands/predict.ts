/** `cxr predict`: score images and DICOM files and write a worklist ranked by probability. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { supportedEncodingsSummary } from '../../data/decoders/transfer-syntaxes.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import type { ModelMetadata } from '../../model/metadata.ts';
import { expandPaths, IMAGE_EXTENSIONS } from '../../predict/inputs.ts';
import {
  JOURNAL_FORMAT,
  type JournalEntry,
  type JournalHeader,
  WorklistJournal,
} from '../../predict/journal.ts';
import {
  formatCsv,
  formatJson,
  heatmapFileName,
  OUTPUT_FORMATS,
  type OutputFormat,
  toRows,
} from '../../predict/output.ts';
import { DEFAULT_BATCH_SIZE, rankResults, toResultError } from '../../predict/predictor.ts';
import type { LazyPredictInput, PredictOptions, PredictResult } from '../../predict/types.ts';
import { integerArg, probabilityArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { loadPredictor } from '../model.ts';
import { startProgress } from '../progress.ts';
import { connectQueue, modelIdentity, scoreOnQueue } from '../queue-scoring.ts';

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
  resume?: boolean;
  /** commander sets this to false for --no-gate. */
  gate: boolean;
  tta?: boolean;
  queue?: string;
  quiet?: boolean;
}

/** What scores the inputs: the local Predictor, or `cxr worker`s through Redis (--queue). */
interface Scorer {
  metadata: ModelMetadata;
  /** Set-up notes for the user (e.g. a model without the input gate's learned check). */
  warnings: string[];
  score(inputs: LazyPredictInput[], options: PredictOptions): Promise<PredictResult[]>;
  close(): Promise<void>;
}

async function localScorer(options: PredictCommandOptions): Promise<Scorer> {
  const predictor = await loadPredictor(options.model ?? DEFAULT_MODEL_DIR, {
    backend: options.backend,
    gate: options.gate,
    tta: options.tta,
  });
  return {
    metadata: predictor.metadata,
    warnings: predictor.warnings,
    score: (inputs, predictOptions) => predictor.predict(inputs, predictOptions),
    close: async () => predictor.dispose(),
  };
}

/**
 * --queue: one job per input on `cxr worker`s; the files must be on storage every worker mounts at the same path.
 * A PATH that matched nothing is reported here, as a local run reports it, rather than sent to a worker.
 */
async function queueScorer(redis: string, options: PredictCommandOptions): Promise<Scorer> {
  const metadata = await modelIdentity(options.model ?? DEFAULT_MODEL_DIR);
  const client = await connectQueue(redis, metadata, 'predict');
  const score = async (inputs: LazyPredictInput[], predictOptions: PredictOptions) => {
    const missing = new Set(inputs.filter((input) => !existsSync(input.name)));
    const failed = await Promise.all(
      [...missing].map(async (input): Promise<PredictResult> => {
        const error = await input.read().then(
          () => ({ code: 'unreadable', message: 'no such file' }),
          (err: unknown) => toResultError(err),
        );
        return { name: input.name, status: 'failed', reason: error.message, rank: 0, error };
      }),
    );
    for (const result of failed) await predictOptions.onResult?.(result);
    const items = inputs
      .filter((input) => !missing.has(input))
      .map((input) => ({
        name: input.name,
        input: { kind: 'file' as const, path: path.resolve(input.name) },
      }));
    const { threshold, maxPixels, heatmaps, onProgress, onResult } = predictOptions;
    const scored = await scoreOnQueue<PredictResult>(
      client,
      items,
      { threshold, maxPixels, heatmaps },
      {
        onProgress,
        onResult,
      },
    );
    return rankResults([...scored, ...failed]);
  };
  // The workers run the input gate as they were started (`cxr worker [--no-gate]`).
  return { metadata, warnings: [], score, close: () => client.close() };
}

/**
 * Writes each heatmap as soon as its input is scored, so PNG bytes never pile up in memory. `earlier` holds the
 * heatmaps of rows resumed from a journal: their names stay taken.
 */
function heatmapWriter(dir: string, earlier: Map<string, string>) {
  const paths = new Map(earlier);
  const taken = new Set([...earlier.values()].map((file) => path.basename(file)));
  const onResult = async (result: PredictResult) => {
    if (!result.heatmapPng) return;
    const file = heatmapFileName(result.name, dir, taken);
    await writeFile(file, result.heatmapPng);
    paths.set(result.name, file);
    delete result.heatmapPng;
  };
  return { paths, onResult };
}

/** The journal for `--out` (rows saved as they are scored) and the rows it lets this run skip. */
async function openJournal(
  metadata: ModelMetadata,
  inputs: LazyPredictInput[],
  options: PredictCommandOptions,
): Promise<{ journal?: WorklistJournal; reused: Map<string, JournalEntry> }> {
  if (!options.out) {
    if (options.resume)
      throw new CliError('--resume needs --out FILE (the worklist a previous run was writing)');
    return { reused: new Map() };
  }
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  const { name, version, createdAt, threshold } = metadata;
  const header: JournalHeader = {
    format: JOURNAL_FORMAT,
    version: 1,
    model: { name, version, createdAt },
    threshold: options.threshold ?? threshold,
    heatmaps: options.heatmaps !== undefined,
    ...(options.tta ? { tta: true } : {}),
  };
  try {
    const { journal, entries } = await WorklistJournal.open(options.out, header, {
      resume: options.resume === true,
    });
    const reused = await WorklistJournal.reusable(
      entries,
      inputs.map((input) => input.name),
    );
    if (options.resume && !options.quiet) {
      process.stderr.write(
        `cxr predict: resuming ${journal.path}: ${reused.size} of ${inputs.length} inputs already scored\n`,
      );
    }
    return { journal, reused };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

async function predict(paths: string[], options: PredictCommandOptions): Promise<void> {
  const format: OutputFormat = options.json ? 'json' : options.format;
  const { inputs, skipped } = await expandPaths(paths);
  // Nothing in a folder is dropped silently: every file not taken is named with the reason.
  for (const file of skipped) process.stderr.write(`cxr predict: skipped ${file.path}: ${file.reason}\n`);
  if (inputs.length === 0) throw new CliError(`no images found in ${paths.join(', ')}`);
  if (options.queue && options.tta) {
    throw new CliError('--tta scores locally; with --queue the workers score each image as it is');
  }
  const scorer = options.queue ? await queueScorer(options.queue, options) : await localScorer(options);
  if (!options.quiet) for (const w of scorer.warnings) process.stderr.write(`cxr predict: ${w}\n`);
  let results: PredictResult[];
  let journal: WorklistJournal | undefined;
  let heatmaps: ReturnType<typeof heatmapWriter> | undefined;
  try {
    const opened = await openJournal(scorer.metadata, inputs, options);
    journal = opened.journal;
    const earlier: PredictResult[] = [];
    const earlierHeatmaps = new Map<string, string>();
    for (const [name, entry] of opened.reused) {
      earlier.push({ ...entry.result, name, rank: 0 });
      if (entry.heatmap) earlierHeatmaps.set(name, entry.heatmap);
    }
    if (options.heatmaps) await mkdir(options.heatmaps, { recursive: true });
    heatmaps = options.heatmaps ? heatmapWriter(options.heatmaps, earlierHeatmaps) : undefined;
    const onResult = async (result: PredictResult) => {
      await heatmaps?.onResult(result);
      await journal?.append(result, heatmaps?.paths.get(result.name));
    };
    const bar = startProgress('predict', { quiet: options.quiet });
    try {
      const scored = await scorer.score(
        inputs.filter((input) => !opened.reused.has(input.name)),
        {
          heatmaps: heatmaps !== undefined,
          threshold: options.threshold,
          maxPixels: options.maxPixels,
          batchSize: options.batchSize,
          onProgress: bar.update,
          onResult,
        },
      );
      results = rankResults([...earlier, ...scored]);
    } finally {
      bar.stop();
    }
  } finally {
    await scorer.close();
  }
  const { metadata } = scorer;
  const context = {
    threshold: options.threshold ?? metadata.threshold,
    model: `${metadata.name} ${metadata.version}`,
  };
  const rows = toRows(results, context, heatmaps?.paths);
  const text = format === 'json' ? formatJson(rows) : formatCsv(rows, { heatmaps: heatmaps !== undefined });
  if (journal) await journal.finish(text);
  else process.stdout.write(text);
  reportToStderr(results, { ...options, skipped: skipped.length, threshold: context.threshold });
}

/** The summary line: how many inputs were scored, flagged, rejected and failed (and files skipped). */
export function summaryLine(results: PredictResult[], threshold: number, skipped = 0): string {
  const count = (status: PredictResult['status']) => results.filter((r) => r.status === status).length;
  const flagged = results.filter((r) => r.status === 'scored' && r.probability! >= threshold).length;
  const parts = [
    `${count('scored')} scored (${flagged} flagged)`,
    `${count('rejected')} rejected`,
    `${count('failed')} failed`,
  ];
  if (skipped > 0) parts.push(`${skipped} skipped`);
  return `${results.length} inputs: ${parts.join(', ')}`;
}

/** Warnings, rejections and failures go to stderr (the worklist itself stays machine-readable). */
function reportToStderr(
  results: PredictResult[],
  options: PredictCommandOptions & { skipped: number; threshold: number },
): void {
  const needPerson = results.filter((r) => r.status !== 'scored');
  for (const r of results)
    for (const w of r.warnings ?? []) process.stderr.write(`cxr predict: ${r.name}: ${w}\n`);
  for (const r of needPerson) process.stderr.write(`cxr predict: ${r.status} ${r.name}: ${r.reason}\n`);
  if (!options.quiet) {
    const where = options.out ? ` -> ${options.out}` : '';
    process.stderr.write(
      `cxr predict: ${summaryLine(results, options.threshold, options.skipped)}${where}\n`,
    );
  }
  process.exitCode = needPerson.length > 0 ? EXIT_SOME_FAILED : EXIT_ALL_SCORED;
}

const HELP_AFTER = `
Output: one row per input, in reading order:
  path, status (scored | rejected | failed), probability (calibrated P(PNEUMONIA)), label and flag (at the
  model's stored threshold unless --threshold; scored rows only), rank (1 = read first), threshold, model,
  heatmap (with --heatmaps), reason (why a rejected or failed row needs a person), error.
  Rows that need a person come first (rejected, then failed, in input order), then scored rows by probability.
  Not a medical device: a triage aid, never a diagnosis.

Input gate: every input is checked first. Too small, extreme aspect ratio, almost uniform, colour pictures,
  DICOMs that say they are not a frontal chest radiograph, and (when the model has gate data) images whose
  features lie outside the training X-rays' are "rejected" with the reason, never labelled. --no-gate turns
  the learned check off (research use; the cheap checks stay). See docs/input-gate.md.

Test-time augmentation: --tta scores each image three times, as it is, zoomed in ×1.1 and zoomed out ×1/1.1
  (the training augmentation's own warp), and averages the three logits before the model's calibration and
  threshold: about 3× the scoring time. The input gate and --heatmaps read the image as it is. Off by default
  (docs/predict.md has what it measured). Not with --queue.

Inputs: files, directories (searched recursively, following symbolic links, for ${IMAGE_EXTENSIONS.join('/')}
  and extension-less files) and glob patterns (*, ?, [...], {a,b}, **). JPEG, PNG,
  WebP, TIFF and DICOM are recognised from their bytes; in a folder, files with other extensions are taken
  when their bytes are an image, and otherwise listed on stderr as skipped, with the reason.
  Every container gives the same grey pixels for the same picture (colour profiles ignored, colour → BT.601
  luma, 16-bit windowed to its 0.5–99.5 percentile range).
  DICOM pixel data read: ${supportedEncodingsSummary()}.
  Patient identifiers in DICOM files are never printed or written.

Interrupted runs: with --out FILE, every row is appended to FILE.partial as soon as it is scored, and FILE
  is written (ranked) at the end. After a crash or Ctrl+C, rerun the same command with --resume: inputs already
  scored (same file, size and modification time) are kept, the rest are scored. A FILE.partial left by an
  interrupted run is never overwritten without --resume; delete it to start over.

Exit status:
  ${EXIT_ALL_SCORED}  every input was scored
  1  nothing was scored (bad options, no model, a folder without images)
  ${EXIT_SOME_FAILED}  the worklist was written, but some inputs need a person: rejected by the input gate, or
     failed (corrupt, unsupported, empty, too large, missing, a pattern matching nothing); their rows carry
     the reason, and each is also reported on stderr

Examples:
  cxr predict scans/                          CSV worklist of every image under scans/
  cxr predict --format json --out list.json 'scans/**/*.dcm'
  cxr predict --heatmaps out/heatmaps scans/patient1.dcm
  cxr predict --queue redis://queue-host:6379 --json --out list.json /shared/scans/   (on cxr worker processes)`;

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('Score chest X-rays (JPEG, PNG, WebP, TIFF, DICOM) and write a worklist in reading order')
    .argument('<paths...>', 'image files, directories (recursive) or glob patterns')
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS).default('csv'))
    .option('--json', 'same as --format json')
    .option(
      '-o, --out <file>',
      'write the worklist to FILE instead of stdout (rows are saved to FILE.partial as they are scored)',
    )
    .option(
      '--resume',
      'continue an interrupted --out run: inputs already in FILE.partial are not scored again',
    )
    .option('--heatmaps <dir>', 'also write a Grad-CAM overlay PNG per scored input into DIR (slower)')
    .option(
      '-t, --threshold <t>',
      "label threshold on the probability (default: the model's own)",
      probabilityArg,
    )
    .option('-b, --batch-size <n>', 'images per forward pass', integerArg(1), DEFAULT_BATCH_SIZE)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--max-pixels <n>', 'refuse images with more decoded pixels than this', integerArg(1))
    .option('--no-gate', "turn the input gate's learned check off (research use; cheap checks still run)")
    .option(
      '--tta',
      'test-time augmentation: mean logit of the image and a mild zoom in and out (~3× slower)',
    )
    .option('--queue <redis-url>', 'score on `cxr worker`s through Redis (paths must be on shared storage)')
    .option('-q, --quiet', 'no progress bar or summary line on stderr')
    .addHelpText('after', HELP_AFTER)
    .action(async (paths: string[], options: PredictCommandOptions) => predict(paths, options));
}
