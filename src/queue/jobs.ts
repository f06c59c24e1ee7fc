/**
 * The scoring job contract between producers (`cxr predict --queue`, `cxr pacs --queue`) and `cxr worker`, kept
 * in one place: what a job carries, what it returns, which queue it goes on, how to reach Redis.
 *
 * Each model version has its own queue (`cxr-score-<name>-<version>`), so a worker only ever sees jobs for the
 * model it has loaded; the job repeats the model's identity and the worker checks it anyway.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Where a worker reads an input: a path on storage every worker shares, or an instance in a DICOMweb server. */
export type JobInput =
  | { kind: 'file'; path: string }
  | { kind: 'dicomweb'; url: string; study: string; series: string; instance: string };

export interface JobModel {
  name: string;
  version: string;
}

/** Scoring options a producer may set; the rest (batching, backend) is the worker's business. */
export interface JobScoreOptions {
  threshold?: number;
  maxPixels?: number;
  heatmaps?: boolean;
}

export interface ScoreJobData {
  /** The input's name in the worklist (its path, or its DICOMweb key). */
  name: string;
  input: JobInput;
  model: JobModel;
  options: JobScoreOptions;
}

/**
 * A scored (or failed) input as a worker returns it: the scorer's result as it was, except the heatmap PNG, which
 * travels as base64 because job results are JSON.
 */
export interface ScoreJobResult {
  result: Record<string, unknown> & { name: string; heatmapPngBase64?: string };
  /** Which worker (host:pid) produced it, for logs and tests. */
  worker: string;
}

export const JOB_NAME = 'score';

/** Queue names may not contain ':' (BullMQ's key separator); keep them to a safe alphabet. */
export function queueName(model: JobModel): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `cxr-score-${safe(model.name)}-${safe(model.version)}`;
}

/** ioredis options from a `redis://[user:password@]host:port[/db]` (or `rediss://`) URL. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a Redis URL: ${redactUrl(url)} (expected redis://HOST:PORT)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`not a Redis URL: ${parsed.protocol}// (expected redis://HOST:PORT)`);
  }
  const db = Number(parsed.pathname.replace(/^\//, '') || 0);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers block on Redis; BullMQ requires unlimited retries per request for them.
    maxRetriesPerRequest: null,
  };
}

/** A URL fit for a message: credentials removed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/**
 * A new Redis connection for one BullMQ object (BullMQ's ES module build cannot load ioredis by itself, so every
 * Queue, QueueEvents and Worker is handed its own). `lastError` keeps the latest connection error for messages.
 */
export function openRedis(url: string): Redis & { lastError?: Error } {
  const redis: Redis & { lastError?: Error } = new Redis(redisOptions(url));
  redis.on('error', (err: Error) => {
    redis.lastError = err;
  });
  return redis;
}

/**
 * Fails fast, with a clear message, when Redis cannot be reached: one connection attempt without retries (BullMQ's
 * own connections retry for ever, and closing them while they wait hangs).
 */
export async function checkRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const probe = new Redis({
    ...redisOptions(url),
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  let cause: Error | undefined;
  probe.on('error', (err: Error) => {
    cause ??= err;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const reason = (cause ?? err) as NodeJS.ErrnoException;
    const detail = reason.code ?? reason.message;
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${detail}`);
  } finally {
    probe.disconnect();
  }
}
