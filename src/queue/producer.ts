/**
 * The producer side: puts one job per input on the model's queue and collects the results as workers finish them.
 *
 * At-least-once delivery, exactly-once rows: a job whose worker died is re-run by another worker (BullMQ's stalled
 * job check), and a result is keyed by its job, so a job finished twice still yields one row. Results arrive as
 * queue events; a periodic check of the jobs still pending covers events missed during a reconnect. A job that
 * fails for good (every attempt failed, or it stalled too often) becomes a failed row, never a missing one.
 */
import { randomBytes } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import {
  checkRedis,
  JOB_NAME,
  type JobInput,
  type JobModel,
  type JobScoreOptions,
  openRedis,
  queueName,
  type ScoreJobData,
  type ScoreJobResult,
} from './jobs.ts';

export interface QueueItem {
  name: string;
  input: JobInput;
}

/** A result as the worker's scorer made it, with the heatmap back as bytes. */
export type QueuedResult = Record<string, unknown> & {
  name: string;
  rank: number;
  heatmapPng?: Uint8Array;
  error?: { code: string; message: string };
};

export interface QueueClientOptions {
  /** redis://HOST:PORT */
  redis: string;
  model: JobModel;
  /** Attempts per job before it is reported as failed (default 3). */
  attempts?: number;
  /** How often jobs still pending are checked directly, in ms (default 5000). */
  reconcileMs?: number;
  /** Told when nothing consumes the queue for a while. */
  onEvent?: (message: string) => void;
}

export interface ScoreOnQueueOptions {
  options?: JobScoreOptions;
  onProgress?: (done: number, total: number) => void;
  /** Called once per item as its result arrives (not in order); awaited before `score` resolves. */
  onResult?: (result: QueuedResult) => void | Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Jobs are added in chunks so a million inputs never build one giant Redis pipeline. */
const ADD_CHUNK = 500;
/** Seconds after which an idle producer checks whether any worker is listening. */
const NO_WORKER_HINT_MS = 10_000;

function toResult(value: ScoreJobResult | string): QueuedResult {
  const parsed = (typeof value === 'string' ? JSON.parse(value) : value) as ScoreJobResult;
  const { heatmapPngBase64, ...rest } = parsed.result;
  const result = { rank: 0, ...rest } as QueuedResult;
  if (heatmapPngBase64) result.heatmapPng = new Uint8Array(Buffer.from(heatmapPngBase64, 'base64'));
  return result;
}

/** A job that failed for good, in the Predictor's shape for an input that could not be read. */
function failedRow(name: string, reason: string): QueuedResult {
  const message = `queue: ${reason.split('\n')[0]}`;
  return { name, status: 'failed', reason: message, rank: 0, error: { code: 'failed', message } };
}

export class QueueClient {
  readonly queue: Queue<ScoreJobData, ScoreJobResult>;
  private readonly events: QueueEvents;
  private readonly options: QueueClientOptions;
  private readonly connections: ReturnType<typeof openRedis>[];
  /** jobId → settle callback of the run waiting for it. */
  private readonly waiting = new Map<string, (result: QueuedResult) => void>();

  private constructor(options: QueueClientOptions) {
    this.options = options;
    this.connections = [openRedis(options.redis), openRedis(options.redis)];
    const name = queueName(options.model);
    this.queue = new Queue(name, { connection: this.connections[0] });
    this.events = new QueueEvents(name, { connection: this.connections[1] });
    this.events.on('completed', ({ jobId, returnvalue }) => {
      this.settle(jobId, () => toResult(returnvalue as unknown as ScoreJobResult | string));
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      this.settle(jobId, (name) => failedRow(name, failedReason));
    });
    this.queue.on('error', () => {});
    this.events.on('error', () => {});
  }

  /** Connects to Redis; fails with a clear message when it cannot be reached. */
  static async connect(options: QueueClientOptions): Promise<QueueClient> {
    await checkRedis(options.redis);
    const client = new QueueClient(options);
    await Promise.all([client.queue.waitUntilReady(), client.events.waitUntilReady()]);
    return client;
  }

  get queueName(): string {
    return this.queue.name;
  }

  private readonly names = new Map<string, string>();

  private settle(jobId: string, make: (name: string) => QueuedResult): void {
    const done = this.waiting.get(jobId);
    if (!done) return;
    this.waiting.delete(jobId);
    done(make(this.names.get(jobId) ?? jobId));
    this.names.delete(jobId);
  }

  /** Enqueues one job per item and resolves with one result per item, in the items' order. */
  async score(items: QueueItem[], run: ScoreOnQueueOptions = {}): Promise<QueuedResult[]> {
    const runId = randomBytes(6).toString('hex');
    const results: QueuedResult[] = new Array(items.length);
    let done = 0;
    let handled: Promise<void> = Promise.resolve();
    run.onProgress?.(0, items.length);
    const all = items.map(
      (item, index) =>
        new Promise<void>((resolve) => {
          const jobId = `${runId}-${index}`;
          this.names.set(jobId, item.name);
          this.waiting.set(jobId, (result) => {
            results[index] = result;
            done++;
            run.onProgress?.(done, items.length);
            // One result handler at a time, in arrival order (they write files: heatmaps, the journal).
            handled = handled.then(() => run.onResult?.(result));
            resolve();
          });
        }),
    );
    const attempts = this.options.attempts ?? 3;
    for (let start = 0; start < items.length; start += ADD_CHUNK) {
      await this.queue.addBulk(
        items.slice(start, start + ADD_CHUNK).map((item, offset) => ({
          name: JOB_NAME,
          data: { name: item.name, input: item.input, model: this.options.model, options: run.options ?? {} },
          opts: {
            jobId: `${runId}-${start + offset}`,
            attempts,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: { age: 3600, count: 100_000 },
            removeOnFail: { age: 24 * 3600 },
          },
        })),
      );
    }
    const finished = Promise.all(all);
    let stop = false;
    const reconcile = this.reconcileLoop(
      runId,
      () => stop,
      () => done,
    );
    await finished;
    stop = true;
    await reconcile;
    await handled;
    return results;
  }

  /** Checks the run's pending jobs directly now and then: covers missed events, and hints when no worker runs. */
  private async reconcileLoop(runId: string, stopped: () => boolean, progress: () => number): Promise<void> {
    const every = this.options.reconcileMs ?? 5000;
    let lastDone = progress();
    let lastProgressAt = Date.now();
    let lastCheckAt = Date.now();
    let hinted = false;
    while (!stopped()) {
      await sleep(Math.min(every, 250));
      if (stopped()) return;
      const now = Date.now();
      if (progress() !== lastDone) {
        lastDone = progress();
        lastProgressAt = now;
        continue;
      }
      // Only a run that has gone quiet is checked job by job: a busy one is clearly getting its events.
      if (now - lastProgressAt < every || now - lastCheckAt < every) continue;
      lastCheckAt = now;
      for (const jobId of [...this.waiting.keys()].filter((id) => id.startsWith(`${runId}-`))) {
        const job = await Job.fromId<ScoreJobData, ScoreJobResult>(this.queue, jobId);
        if (!job) continue;
        const state = await job.getState();
        if (state === 'completed') this.settle(jobId, () => toResult(job.returnvalue));
        else if (state === 'failed')
          this.settle(jobId, (name) => failedRow(name, job.failedReason ?? 'failed'));
      }
      if (
        !hinted &&
        now - lastProgressAt >= NO_WORKER_HINT_MS &&
        (await this.queue.getWorkersCount()) === 0
      ) {
        hinted = true;
        this.options.onEvent?.(
          `no worker is consuming queue ${this.queue.name}; start one with \`cxr worker --redis … --model …\``,
        );
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const connection of this.connections) connection.disconnect();
  }
}
