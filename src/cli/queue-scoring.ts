/**
 * `--queue redis://…` for `cxr predict` and `cxr pacs`: the inputs go to `cxr worker` processes through Redis
 * instead of the local model, and come back as the same results a local run makes. One place, so both commands
 * connect, report progress and turn queue failures into rows the same way.
 */
import { readMetadata } from '../model/io.ts';
import type { ModelMetadata } from '../model/metadata.ts';
import type { JobScoreOptions } from '../queue/jobs.ts';
import { QueueClient, type QueuedResult, type QueueItem } from '../queue/producer.ts';
import { CliError } from './errors.ts';

/** The model's metadata without loading it: a producer needs only its name, version and threshold. */
export async function modelIdentity(dir: string): Promise<ModelMetadata> {
  try {
    return await readMetadata(dir);
  } catch (err) {
    throw new CliError(`cannot read the model's metadata in ${dir}: ${(err as Error).message}`);
  }
}

/** Connects to Redis for `metadata`'s queue; progress messages go to stderr under `command`. */
export async function connectQueue(
  redis: string,
  metadata: ModelMetadata,
  command: string,
): Promise<QueueClient> {
  try {
    return await QueueClient.connect({
      redis,
      model: { name: metadata.name, version: metadata.version },
      onEvent: (message) => process.stderr.write(`cxr ${command}: ${message}\n`),
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/**
 * Scores `items` on the queue; results come back in the items' order, each in the Predictor's shape, and are
 * handed to `onResult` one by one as workers finish them (as the Predictor's own `onResult` is).
 */
export async function scoreOnQueue<R>(
  client: QueueClient,
  items: QueueItem[],
  options: JobScoreOptions,
  callbacks: {
    onProgress?: (done: number, total: number) => void;
    onResult?: (result: R) => void | Promise<void>;
  } = {},
): Promise<R[]> {
  const onResult = callbacks.onResult as ((result: QueuedResult) => void | Promise<void>) | undefined;
  return (await client.score(items, {
    options,
    onProgress: callbacks.onProgress,
    onResult,
  })) as unknown as R[];
}
