/**
 * The server's resource limits in one place, with defaults sized for a 2-core laptop. Every limit turns
 * overload or hostile input into a 4xx/503 answer instead of a slow or dead process.
 */

export interface ServerLimits {
  /** Bytes in one request, all files together (raw body or multipart). */
  maxUploadBytes: number;
  /** Decoded width x height allowed per image: a decompression-bomb guard. */
  maxPixels: number;
  /** Files in one batch request. */
  maxBatchFiles: number;
  /** Images allowed to wait for inference before new requests get 503 + Retry-After. */
  queueCapacity: number;
  /** Upload bytes allowed to wait for inference (held in memory) before new requests get 503. */
  maxQueuedBytes: number;
  /** Most images scored in one forward pass (waiting requests are batched together up to this). */
  maxBatch: number;
  /** Scoring calls allowed to run at once. */
  concurrency: number;
  /** A request whose inference has not finished after this long gets 503 (`inference-timeout`). */
  inferenceTimeoutMs: number;
  /** The whole request must arrive within this long (slow-upload guard, enforced by Node's HTTP server). */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  // 6000 x 6000: above any real chest radiograph (those top out near 4300 x 4300), far below a bomb.
  maxPixels: 36_000_000,
  maxBatchFiles: 32,
  queueCapacity: 64,
  maxQueuedBytes: 512 * 1024 * 1024,
  maxBatch: 8,
  concurrency: 2,
  inferenceTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
};

/** Fills in defaults and checks the combination makes sense. */
export function resolveLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...stripUndefined(overrides) };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`limit ${key} must be a positive number, got ${value}`);
  }
  if (limits.maxBatchFiles > limits.queueCapacity) {
    throw new Error(
      `maxBatchFiles (${limits.maxBatchFiles}) must not exceed queueCapacity (${limits.queueCapacity}), ` +
        'or a full batch could never be queued',
    );
  }
  if (limits.maxQueuedBytes < limits.maxUploadBytes) {
    throw new Error(
      `maxQueuedBytes (${limits.maxQueuedBytes}) must be at least maxUploadBytes (${limits.maxUploadBytes})`,
    );
  }
  return limits;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
