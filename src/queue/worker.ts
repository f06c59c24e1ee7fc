/**
 * The consumer side (`cxr worker`): takes scoring jobs from the queue of the model it has loaded and scores them
 * with the injected scorer (the CLI passes the Predictor), so a worker's result is exactly a local run's.
 *
 * Jobs that arrive together are scored together: with `concurrency` N, up to N jobs are collected for a moment
 * and sent through the model as one batch, which keeps a worker as fast per image as a local `cxr predict`.
 * A worker that dies mid-job stops renewing its job's lock; another worker's stalled-job check puts the job back
 * on the queue (`lockDurationMs`, `stalledIntervalMs`).
 */
import os from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import {
  checkRedis,
  type JobInput,
  type JobModel,
  type JobScoreOptions,
  openRedis,
  queueName,
  type ScoreJobData,
  type ScoreJobResult,
} from './jobs.ts';

/** An input the scorer can read, as `Predictor.predict` takes it. */
export interface WorkerInput {
  name: string;
  read(): Promise<Uint8Array>;
}

/** The scorer's result for one input; every field besides these passes through to the producer as it is. */
export interface WorkerResult {
  name: string;
  heatmapPng?: Uint8Array;
}

export type WorkerScorer = (inputs: WorkerInput[], options: JobScoreOptions) => Promise<WorkerResult[]>;

export interface ScoringWorkerOptions {
  redis: string;
  model: JobModel;
  score: WorkerScorer;
  /** Opens a job's input (a shared file, a DICOMweb instance). */
  openInput: (input: JobInput, name: string) => WorkerInput;
  /** Jobs taken at once, and so the largest batch (default 8). */
  concurrency?: number;
  /** How long a batch waits for more jobs to join it, in ms (default 5). */
  batchWindowMs?: number;
  /** A job whose worker has not renewed its lock for this long is taken as stalled (default 15 000). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default 5000). */
  stalledIntervalMs?: number;
  onEvent?: (message: string) => void;
}

export const DEFAULT_WORKER_CONCURRENCY = 8;

interface Pending {
  name: string;
  input: WorkerInput;
  resolve: (result: WorkerResult) => void;
  reject: (err: unknown) => void;
}

/** Collects jobs for `windowMs` (or until `max` are waiting) and scores each group of same-option jobs at once. */
class MicroBatcher {
  private readonly groups = new Map<string, { options: JobScoreOptions; items: Pending[] }>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly score: WorkerScorer,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  add(input: WorkerInput, options: JobScoreOptions): Promise<WorkerResult> {
    return new Promise((resolve, reject) => {
      const key = JSON.stringify([
        options.threshold ?? null,
        options.maxPixels ?? null,
        options.heatmaps === true,
      ]);
      const group = this.groups.get(key) ?? { options, items: [] };
      this.groups.set(key, group);
      group.items.push({ name: input.name, input, resolve, reject });
      const waiting = [...this.groups.values()].reduce((n, g) => n + g.items.length, 0);
      if (waiting >= this.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const groups = [...this.groups.values()];
    this.groups.clear();
    // One model call at a time: the forward pass is synchronous, so queuing them costs nothing.
    this.chain = this.chain.then(async () => {
      for (const group of groups) {
        try {
          const results = await this.score(
            group.items.map((item) => item.input),
            group.options,
          );
          const byName = new Map(results.map((r) => [r.name, r]));
          for (const item of group.items) {
            const result = byName.get(item.name);
            if (result) item.resolve(result);
            else item.reject(new Error('the scorer returned no result for this input'));
          }
        } catch (err) {
          for (const item of group.items) item.reject(err);
        }
      }
    });
  }
}

export interface RunningWorker {
  worker: Worker<ScoreJobData, ScoreJobResult>;
  /** Stops taking jobs, lets the ones in progress finish, disconnects. */
  close(): Promise<void>;
}

/** Starts consuming the model's queue. */
export async function startScoringWorker(options: ScoringWorkerOptions): Promise<RunningWorker> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_WORKER_CONCURRENCY);
  const batcher = new MicroBatcher(options.score, concurrency, options.batchWindowMs ?? 5);
  const identity = `${os.hostname()}:${process.pid}`;
  const expected = options.model;
  await checkRedis(options.redis);
  const connection = openRedis(options.redis);
  const worker = new Worker<ScoreJobData, ScoreJobResult>(
    queueName(expected),
    async (job) => {
      const { model, input, name } = job.data;
      if (model.name !== expected.name || model.version !== expected.version) {
        throw new UnrecoverableError(
          `job is for model ${model.name} ${model.version}, this worker has ${expected.name} ${expected.version}`,
        );
      }
      // Duplicate names (two jobs for one input) must not meet in one batch: key the batch by job id.
      const opened = options.openInput(input, name);
      const keyed: WorkerInput = { name: `${job.id}`, read: () => opened.read() };
      const scored = await batcher.add(keyed, job.data.options ?? {});
      const { heatmapPng, ...rest } = scored;
      const result = { ...rest, name } as ScoreJobResult['result'];
      if (heatmapPng) result.heatmapPngBase64 = Buffer.from(heatmapPng).toString('base64');
      return { result, worker: identity };
    },
    {
      connection,
      concurrency,
      lockDuration: options.lockDurationMs ?? 15_000,
      stalledInterval: options.stalledIntervalMs ?? 5000,
      maxStalledCount: 1,
    },
  );
  worker.on('error', (err) => options.onEvent?.(`worker: ${err.message}`));
  const close = async () => {
    await worker.close();
    connection.disconnect();
  };
  await worker.waitUntilReady();
  return { worker, close };
}
