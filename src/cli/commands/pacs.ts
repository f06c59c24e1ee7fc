import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { DicomWebClient, type InstanceRef } from '../../dicomweb/client.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import type { ModelMetadata } from '../../model/metadata.ts';
import {
  DEFAULT_MODALITIES,
  DEFAULT_PACS_BATCH_SIZE,
  type PacsCycleResult,
  type PacsRunOptions,
  type PacsScorer,
  pacsCycle,
  pacsWatch,
  WRITE_BACK_KINDS,
  type WriteBack,
} from '../../pacs/run.ts';
import { PacsState } from '../../pacs/state.ts';
import {
  formatCsv,
  formatJson,
  OUTPUT_FORMATS,
  type OutputFormat,
  type RowContext,
  toRows,
  withUids,
} from '../../predict/output.ts';
import { rankResults } from '../../predict/predictor.ts';
import type { PredictResult } from '../../predict/types.ts';
import { integerArg, probabilityArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { loadPredictor } from '../model.ts';
import { startProgress } from '../progress.ts';
import { connectQueue, modelIdentity, scoreOnQueue } from '../queue-scoring.ts';
import { EXIT_ALL_SCORED, EXIT_SOME_FAILED } from './predict.ts';

const DEFAULT_INTERVAL_SECONDS = 60;

interface PacsCommandOptions {
  url: string;
  user?: string;
  password?: string;
  since?: string;
  modality: string[];
  once?: boolean;
  watch?: boolean;
  interval: number;
  writeBack: WriteBack[];
  state?: string;
  format: OutputFormat;
  json?: boolean;
  out?: string;
  model: string;
  threshold?: number;
  batchSize: number;
  backend: BackendName;
  maxPixels?: number;
  timeout: number;
  retries: number;
  queue?: string;
  quiet?: boolean;
}

function dateArg(value: string): string {
  if (!/^\d{8}$/.test(value)) throw new InvalidArgumentError('expected a date as YYYYMMDD');
  return value;
}

function listArg<T extends string>(allowed?: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean) as T[];
    const unknown = allowed ? items.filter((item) => !allowed.includes(item)) : [];
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `unknown value ${unknown.join(', ')} (choose from ${allowed!.join(', ')})`,
      );
    }
    return items;
  };
}

function log(options: PacsCommandOptions, message: string): void {
  if (!options.quiet) process.stderr.write(`cxr pacs: ${message}\n`);
}

/** Local scoring: the Predictor, exactly as `cxr predict` uses it. */
async function localScorer(options: PacsCommandOptions) {
  const predictor = await loadPredictor(options.model, { backend: options.backend });
  for (const w of predictor.warnings) log(options, w);
  const score: PacsScorer<PredictResult> = (inputs, { heatmaps }) =>
    predictor.predict(inputs, {
      heatmaps,
      threshold: options.threshold,
      maxPixels: options.maxPixels,
      batchSize: options.batchSize,
    });
  return { metadata: predictor.metadata, score, close: async () => predictor.dispose() };
}

/** Queue scoring: one job per instance, which a `cxr worker` retrieves from the PACS itself. */
async function queueScorer(options: PacsCommandOptions, redis: string, base: string) {
  const metadata = await modelIdentity(options.model);
  const client = await connectQueue(redis, metadata, 'pacs');
  const score: PacsScorer<PredictResult> = (inputs, { heatmaps }) =>
    scoreOnQueue<PredictResult>(
      client,
      inputs.map((input) => ({ name: input.name, input: { kind: 'dicomweb', url: base, ...input.ref } })),
      { threshold: options.threshold, maxPixels: options.maxPixels, heatmaps },
    );
  return { metadata, score, close: () => client.close() };
}

/** Writes `text` to --out atomically (a watcher may read the file at any time), or to stdout. */
async function emit(options: PacsCommandOptions, text: string): Promise<void> {
  if (!options.out) {
    process.stdout.write(text);
    return;
  }
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  const temporary = `${options.out}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, options.out);
}

function worklist(
  results: PredictResult[],
  refs: Map<string, InstanceRef>,
  format: OutputFormat,
  context: RowContext,
): string {
  const rows = withUids(toRows(rankResults(results), context), refs);
  return format === 'json' ? formatJson(rows) : formatCsv(rows, { heatmaps: false, uids: true });
}

/** The threshold and model every row names. */
function rowContext(run: PacsRunOptions<PredictResult>): RowContext {
  return { threshold: run.threshold, model: `${run.model.name} ${run.model.version}` };
}

function summarise(options: PacsCommandOptions, cycle: PacsCycleResult<PredictResult>): boolean {
  const failed = cycle.results.filter((r) => r.status !== 'scored');
  for (const r of cycle.results) for (const w of r.warnings ?? []) log(options, `${r.name}: ${w}`);
  for (const r of failed)
    log(options, `${r.status} ${r.name}: ${r.error ? `${r.error.code}: ` : ''}${r.reason}`);
  const scored = cycle.results.length - failed.length;
  const stored =
    options.writeBack.length > 0
      ? `, ${options.writeBack.join('+')} stored for ${scored - cycle.writeBackFailures}`
      : '';
  log(
    options,
    `scored ${scored} of ${cycle.results.length} new instances${failed.length > 0 ? `, ${failed.length} need a person (rejected or failed)` : ''}` +
      `${stored}; ${cycle.alreadyDone} already done`,
  );
  return failed.length > 0 || cycle.writeBackFailures > 0;
}

async function pacs(options: PacsCommandOptions): Promise<void> {
  if (options.once && options.watch) throw new CliError('choose one of --once and --watch');
  const format: OutputFormat = options.json ? 'json' : options.format;
  const client = new DicomWebClient({
    url: options.url,
    user: options.user,
    password: options.password,
    timeoutMs: options.timeout * 1000,
    retries: options.retries,
  });
  const scorer = options.queue
    ? await queueScorer(options, options.queue, client.base)
    : await localScorer(options);
  const metadata: ModelMetadata = scorer.metadata;
  const model = { name: metadata.name, version: metadata.version };
  let state: PacsState;
  try {
    state = await PacsState.open(options.state, model);
  } catch (err) {
    await scorer.close();
    throw new CliError((err as Error).message);
  }
  const stop = new AbortController();
  const bar = startProgress('pacs', { quiet: options.quiet });
  const run: PacsRunOptions<PredictResult> = {
    client,
    score: scorer.score,
    model,
    threshold: options.threshold ?? metadata.threshold,
    modalities: options.modality,
    since: options.since,
    writeBack: options.writeBack,
    state,
    batchSize: options.batchSize,
    signal: stop.signal,
    onProgress: bar.update,
    onEvent: (event) => {
      if (event.kind !== 'written') log(options, event.message);
    },
  };
  try {
    if (!options.watch) {
      let cycle: PacsCycleResult<PredictResult>;
      try {
        cycle = await pacsCycle(run);
      } catch (err) {
        throw new CliError(`${(err as Error).message}; nothing was scored`);
      } finally {
        bar.stop();
      }
      await emit(options, worklist(cycle.results, cycle.refs, format, rowContext(run)));
      process.exitCode = summarise(options, cycle) ? EXIT_SOME_FAILED : EXIT_ALL_SCORED;
      return;
    }
    await watch(options, run, stop, format);
  } finally {
    bar.stop();
    await scorer.close();
  }
}

/** Polls until SIGINT/SIGTERM: the batch in flight is finished, the state saved, then exit 0. */
async function watch(
  options: PacsCommandOptions,
  run: PacsRunOptions<PredictResult>,
  stop: AbortController,
  format: OutputFormat,
): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    log(options, `${signal}: finishing the images in flight, then stopping (again to stop at once)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const all: PredictResult[] = [];
  const refs = new Map<string, InstanceRef>();
  log(options, `watching ${run.client.base} every ${options.interval} s (Ctrl+C to stop)`);
  try {
    await pacsWatch({
      ...run,
      intervalMs: options.interval * 1000,
      onCycle: async (cycle) => {
        if (cycle.results.length === 0) return;
        // --out holds everything scored since the watch began; stdout gets each poll's new rows.
        if (options.out) {
          all.push(...cycle.results);
          for (const [key, ref] of cycle.refs) refs.set(key, ref);
          await emit(options, worklist(all, refs, format, rowContext(run)));
        } else await emit(options, worklist(cycle.results, cycle.refs, format, rowContext(run)));
        summarise(options, cycle);
      },
      onCycleError: (err) => log(options, `${err.message}; trying again in ${options.interval} s`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  log(options, 'stopped');
  process.exitCode = EXIT_ALL_SCORED;
}

const HELP_AFTER = `
Finds instances with QIDO-RS (per --modality, from --since on, paged), retrieves each with WADO-RS, scores it
with the same pipeline as \`cxr predict\` (or on \`cxr worker\`s with --queue) and writes the same worklist, keyed
by Study/Series/SOP Instance UIDs (path = studies/…/series/…/instances/…): never a patient name or ID.

--write-back sr stores a Comprehensive SR per scored image into its study (STOW-RS): calibrated probability,
flag at the threshold, model name and version, "triage aid, not a diagnosis". heatmap adds a Secondary Capture
of the Grad-CAM overlay. An image already scored by this model version (in --state, or whose SR is in the study)
is not scored again. PACS errors (down, slow, 4xx/5xx) and non-image instances give a per-instance error; the
run goes on. Transient errors are retried with backoff (--retries).

Credentials: --user/--password, or CXR_PACS_USER / CXR_PACS_PASSWORD (kept out of the process list).

Exit status: 0 all new instances scored (or none new; --watch: stopped by SIGINT/SIGTERM); 1 the PACS could not
be searched, bad options; 2 some instances failed or their write-back failed (rows and stderr say why).
Not a medical device: a triage aid, never a diagnosis.

Examples:
  cxr pacs --url http://pacs:8042/dicom-web --once --write-back sr --format json --out worklist.json
  cxr pacs --url http://pacs:8042/dicom-web --watch --interval 30 --state pacs-state.json --write-back sr,heatmap
  cxr pacs --url http://pacs:8042/dicom-web --once --queue redis://queue-host:6379`;

export function registerPacsCommand(program: Command): void {
  program
    .command('pacs')
    .description(
      'Score new chest X-rays in a DICOMweb PACS (QIDO/WADO) and write results back as DICOM SR (STOW)',
    )
    .requiredOption('--url <url>', 'DICOMweb root, e.g. http://pacs:8042/dicom-web')
    .addOption(new Option('--user <name>', 'HTTP basic user').env('CXR_PACS_USER'))
    .addOption(new Option('--password <secret>', 'HTTP basic password').env('CXR_PACS_PASSWORD'))
    .option('--since <YYYYMMDD>', 'only studies from this date on', dateArg)
    .addOption(
      new Option('--modality <list>', 'modalities to search, comma-separated')
        .argParser(listArg())
        .default([...DEFAULT_MODALITIES], DEFAULT_MODALITIES.join(',')),
    )
    .option('--once', 'one pass, then exit (the default)')
    .option('--watch', 'poll until SIGINT/SIGTERM')
    .option(
      '--interval <seconds>',
      'seconds between polls with --watch',
      integerArg(1),
      DEFAULT_INTERVAL_SECONDS,
    )
    .addOption(
      new Option('--write-back <kinds>', 'store results in the PACS: sr[,heatmap]')
        .argParser(listArg(WRITE_BACK_KINDS))
        .default([], 'none'),
    )
    .option('--state <file>', 'remember handled instances in FILE across runs')
    .addOption(new Option('-f, --format <format>', 'output format').choices(OUTPUT_FORMATS).default('csv'))
    .option('--json', 'same as --format json')
    .option('-o, --out <file>', 'write the worklist to FILE instead of stdout')
    .addOption(
      new Option('-m, --model <dir>', 'model directory').default(DEFAULT_MODEL_DIR, 'the shipped model'),
    )
    .option('-t, --threshold <t>', "flag threshold (default: the model's own)", probabilityArg)
    .option(
      '-b, --batch-size <n>',
      'instances per batch (a stop waits for the batch in flight)',
      integerArg(1),
      DEFAULT_PACS_BATCH_SIZE,
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--max-pixels <n>', 'refuse images with more decoded pixels than this', integerArg(1))
    .option('--timeout <seconds>', 'per-request PACS timeout', integerArg(1), 30)
    .option('--retries <n>', 'retries of a transient PACS error (with backoff)', integerArg(0), 3)
    .option('--queue <redis-url>', 'score on `cxr worker`s through Redis instead of locally')
    .option('-q, --quiet', 'no progress bar or messages on stderr')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: PacsCommandOptions) => pacs(options));
}
