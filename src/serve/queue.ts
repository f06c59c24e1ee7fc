/**
 * The bounded inference queue. Inference is CPU-bound and the WASM backend runs on the main thread, so requests
 * must wait their turn instead of piling up: at most `capacity` images may wait, beyond that callers get
 * `queue-full` (503 + Retry-After) at once. Waiting requests with the same options are scored together in one
 * `predict` call (micro-batching), which amortises per-call overhead when many clients arrive at once.
 */
import type { PredictInput, PredictResult } from '../predict/types.ts';
import { ApiError } from './errors.ts';
import type { ScoreOptions, Scorer } from './scorer.ts';

export interface InferenceQueueOptions {
  scorer: Scorer;
  /** Images allowed to wait (not counting those being scored). */
  capacity: number;
  /** Upload bytes allowed to wait in memory: many large DICOMs fill memory long before they fill `capacity`. */
  maxQueuedBytes?: number;
  /** Most images scored in one `predict` call. */
  maxBatch: number;
  /** `predict` calls allowed to run at once; 2 lets one batch decode while another runs the model. */
  concurrency: number;
  /** A job that has not finished after this long is answered with `inference-timeout`. */
  timeoutMs: number;
  /** Passed to the scorer. */
  maxPixels: number;
}

/** What a caller asks to have scored: one or more inputs sharing the same options. */
export interface JobRequest {
  inputs: PredictInput[];
  heatmaps: boolean;
}

interface Job extends JobRequest {
  resolve(results: PredictResult[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

/** Queue counters for /healthz and logs. */
export interface QueueStats {
  waiting: number;
  running: number;
  capacity: number;
  completed: number;
  rejected: number;
  /** Moving average of milliseconds per scored image. */
  msPerImage: number;
}

export class InferenceQueue {
  private readonly options: InferenceQueueOptions;
  private readonly jobs: Job[] = [];
  private waitingImages = 0;
  private waitingBytes = 0;
  private runningCalls = 0;
  private runningImages = 0;
  private completed = 0;
  private rejected = 0;
  private msPerImage = 200;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: InferenceQueueOptions) {
    this.options = options;
  }

  /** Scores the request's inputs; results come back in input order. Rejects with ApiError when full or late. */
  run(request: JobRequest): Promise<PredictResult[]> {
    if (this.closed)
      throw new ApiError('shutting-down', 'the server is shutting down', { retryAfterSeconds: 5 });
    const n = request.inputs.length;
    const bytes = request.inputs.reduce((sum, input) => sum + input.bytes.length, 0);
    const tooManyBytes =
      this.waitingBytes + bytes > (this.options.maxQueuedBytes ?? Number.POSITIVE_INFINITY);
    if (this.waitingImages + n > this.options.capacity || (tooManyBytes && this.waitingImages > 0)) {
      this.rejected++;
      throw new ApiError('queue-full', `the inference queue is full (${this.waitingImages} images waiting)`, {
        retryAfterSeconds: this.retryAfterSeconds(),
      });
    }
    return new Promise<PredictResult[]>((resolve, reject) => {
      const job: Job = {
        ...request,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => this.expire(job), this.options.timeoutMs),
      };
      this.jobs.push(job);
      this.waitingImages += n;
      this.waitingBytes += bytes;
      this.pump();
    });
  }

  stats(): QueueStats {
    return {
      waiting: this.waitingImages,
      running: this.runningImages,
      capacity: this.options.capacity,
      completed: this.completed,
      rejected: this.rejected,
      msPerImage: Math.round(this.msPerImage),
    };
  }

  /** Refuses new work and resolves once everything queued and running has finished. */
  async drain(): Promise<void> {
    this.closed = true;
    if (this.jobs.length === 0 && this.runningCalls === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Seconds until the waiting images have probably been scored. */
  private retryAfterSeconds(): number {
    const backlog = this.waitingImages + this.runningImages;
    const seconds = (backlog * this.msPerImage) / Math.max(1, this.options.concurrency) / 1000;
    return Math.min(60, Math.max(1, Math.ceil(seconds)));
  }

  private expire(job: Job): void {
    if (job.settled) return;
    job.settled = true;
    const index = this.jobs.indexOf(job);
    if (index >= 0) {
      // Still waiting: free its place so it is never scored.
      this.jobs.splice(index, 1);
      this.waitingImages -= job.inputs.length;
      this.waitingBytes -= jobBytes(job);
      this.notifyIfIdle();
    }
    job.reject(
      new ApiError('inference-timeout', `inference did not finish within ${this.options.timeoutMs} ms`, {
        retryAfterSeconds: this.retryAfterSeconds(),
      }),
    );
  }

  /** Takes the next group of jobs that share options, up to `maxBatch` images (always at least one job). */
  private takeBatch(): Job[] {
    const first = this.jobs.shift()!;
    const batch = [first];
    let images = first.inputs.length;
    for (let i = 0; i < this.jobs.length; ) {
      const job = this.jobs[i];
      if (job.heatmaps === first.heatmaps && images + job.inputs.length <= this.options.maxBatch) {
        batch.push(job);
        images += job.inputs.length;
        this.jobs.splice(i, 1);
      } else i++;
    }
    this.waitingImages -= images;
    for (const job of batch) this.waitingBytes -= jobBytes(job);
    return batch;
  }

  private pump(): void {
    while (this.runningCalls < this.options.concurrency && this.jobs.length > 0) {
      const batch = this.takeBatch();
      this.runningCalls++;
      void this.score(batch).finally(() => {
        this.runningCalls--;
        this.pump();
        this.notifyIfIdle();
      });
    }
  }

  private async score(batch: Job[]): Promise<void> {
    // Inputs get unique internal names so results map back to their job whatever order the scorer returns.
    const inputs: PredictInput[] = [];
    const owners: { job: Job; index: number }[] = [];
    for (const job of batch) {
      job.inputs.forEach((input, index) => {
        inputs.push({ name: `#${inputs.length}`, bytes: input.bytes });
        owners.push({ job, index });
      });
    }
    const options: ScoreOptions = {
      heatmaps: batch[0].heatmaps,
      maxPixels: this.options.maxPixels,
      batchSize: this.options.maxBatch,
    };
    const started = performance.now();
    this.runningImages += inputs.length;
    try {
      const results = await this.options.scorer.predict(inputs, options);
      // Only scored images feed the estimate behind Retry-After: a refused file costs next to nothing, and a
      // run of them would otherwise drive it to zero.
      const scored = results.filter((result) => result.error === undefined).length;
      if (scored > 0) this.updateTiming(performance.now() - started, scored);
      this.deliver(batch, owners, results);
    } catch (err) {
      for (const job of batch) this.settle(job, () => job.reject(err as Error));
    } finally {
      this.runningImages -= inputs.length;
    }
  }

  private deliver(batch: Job[], owners: { job: Job; index: number }[], results: PredictResult[]): void {
    const perJob = new Map<Job, PredictResult[]>(batch.map((job) => [job, []]));
    for (const result of results) {
      const owner = owners[Number(result.name.slice(1))];
      if (!owner) continue;
      perJob.get(owner.job)![owner.index] = { ...result, name: owner.job.inputs[owner.index].name };
    }
    for (const [job, list] of perJob) {
      const missing = job.inputs.findIndex((_, i) => list[i] === undefined);
      if (missing >= 0) this.settle(job, () => job.reject(new Error('scorer returned too few results')));
      else this.settle(job, () => job.resolve(list));
    }
    this.completed += batch.length;
  }

  private settle(job: Job, action: () => void): void {
    clearTimeout(job.timer);
    if (job.settled) return;
    job.settled = true;
    action();
  }

  private updateTiming(ms: number, images: number): void {
    this.msPerImage = 0.8 * this.msPerImage + 0.2 * (ms / Math.max(1, images));
  }

  private notifyIfIdle(): void {
    if (this.jobs.length > 0 || this.runningCalls > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function jobBytes(job: JobRequest): number {
  return job.inputs.reduce((sum, input) => sum + input.bytes.length, 0);
}
