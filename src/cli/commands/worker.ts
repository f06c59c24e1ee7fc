import { type Command, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { DicomWebClient } from '../../dicomweb/client.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { pacsInput } from '../../pacs/run.ts';
import { fileInput } from '../../predict/inputs.ts';
import type { JobInput } from '../../queue/jobs.ts';
import { DEFAULT_WORKER_CONCURRENCY, startScoringWorker, type WorkerInput } from '../../queue/worker.ts';
import { integerArg } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { loadPredictor } from '../model.ts';

interface WorkerCommandOptions {
  redis: string;
  concurrency: number;
  model: string;
  backend: BackendName;
  batchSize?: number;
  lockSeconds: number;
  /** commander sets this to false for --no-gate. */
  gate: boolean;
  pacsUser?: string;
  pacsPassword?: string;
  quiet?: boolean;
}

function log(options: WorkerCommandOptions, message: string): void {
  if (!options.quiet) process.stderr.write(`cxr worker: ${message}\n`);
}

/** Opens a job's input: a file on shared storage, or a DICOMweb instance (one client per PACS). */
function inputOpener(options: WorkerCommandOptions) {
  const clients = new Map<string, DicomWebClient>();
  return (input: JobInput, name: string): WorkerInput => {
    if (input.kind === 'file') return fileInput(input.path, name);
    let client = clients.get(input.url);
    if (!client) {
      client = new DicomWebClient({ url: input.url, user: options.pacsUser, password: options.pacsPassword });
      clients.set(input.url, client);
    }
    return { ...pacsInput(client, input), name };
  };
}

async function worker(options: WorkerCommandOptions): Promise<void> {
  const predictor = await loadPredictor(options.model, { backend: options.backend, gate: options.gate });
  for (const w of predictor.warnings) log(options, w);
  const { name, version } = predictor.metadata;
  let running: Awaited<ReturnType<typeof startScoringWorker>>;
  try {
    running = await startScoringWorker({
      redis: options.redis,
      model: { name, version },
      concurrency: options.concurrency,
      lockDurationMs: options.lockSeconds * 1000,
      openInput: inputOpener(options),
      score: (inputs, jobOptions) =>
        predictor.predict(inputs, { ...jobOptions, batchSize: options.batchSize }),
      onEvent: (message) => log(options, message),
    });
  } catch (err) {
    predictor.dispose();
    throw new CliError(`cannot start the worker: ${(err as Error).message}`);
  }
  log(
    options,
    `ready: model ${name} ${version}, queue ${running.worker.name}, ${options.concurrency} at a time`,
  );
  let completed = 0;
  running.worker.on('completed', () => completed++);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      log(options, `${signal}: finishing the jobs in progress, then stopping`);
      resolve();
    };
    let stopping = false;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await running.close();
  predictor.dispose();
  log(options, `stopped after ${completed} job(s)`);
}

const HELP_AFTER = `
Takes jobs from the queue of the model it loads (cxr-score-<name>-<version>): jobs for another model version are
never taken. Inputs are paths on storage every worker shares (cxr predict --queue) or DICOMweb instances
(cxr pacs --queue), which the worker retrieves itself (credentials: --pacs-user/--pacs-password, or
CXR_PACS_USER / CXR_PACS_PASSWORD). Run as many workers as you like, on as many machines, against one Redis.

A worker killed mid-job stops renewing its lock; after --lock-seconds another worker takes the job over, so every
input is scored at least once and reported once. SIGINT/SIGTERM finish the jobs in progress, then exit 0.

Examples:
  cxr worker --redis redis://queue-host:6379
  cxr worker --redis redis://queue-host:6379 --model models/default --concurrency 16`;

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Consume scoring jobs from Redis (BullMQ) for `cxr predict --queue` and `cxr pacs --queue`')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option(
      '-c, --concurrency <n>',
      'jobs taken at once (scored together as one batch)',
      integerArg(1),
      DEFAULT_WORKER_CONCURRENCY,
    )
    .addOption(
      new Option('-m, --model <dir>', 'model directory').default(DEFAULT_MODEL_DIR, 'the shipped model'),
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('-b, --batch-size <n>', 'largest forward pass', integerArg(1))
    .option(
      '--lock-seconds <n>',
      'a job whose worker is silent this long is given to another worker',
      integerArg(2),
      15,
    )
    .addOption(new Option('--pacs-user <name>', 'DICOMweb basic user').env('CXR_PACS_USER'))
    .addOption(new Option('--pacs-password <secret>', 'DICOMweb basic password').env('CXR_PACS_PASSWORD'))
    .option('--no-gate', "turn the input gate's learned check off (research use; cheap checks still run)")
    .option('-q, --quiet', 'no messages on stderr')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: WorkerCommandOptions) => worker(options));
}
