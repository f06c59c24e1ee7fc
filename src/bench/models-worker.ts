/**
 * Worker thread of `cxr bench`: measures the benchmark models at one thread count. The engine's thread count is
 * fixed when it starts, so each count gets a fresh worker (its own TF.js and wasm instance): inference runs on
 * that many XNNPACK threads, training on that many data-parallel replicas, as `cxr predict` and `cxr train` do.
 */
import { parentPort } from 'node:worker_threads';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { measureThroughput, type ThroughputOptions, type ThroughputResult } from './throughput.ts';

export interface ModelsRequest {
  backend: BackendName;
  threads: number;
  models: Omit<ThroughputOptions, 'replicas'>[];
}

export type ModelsReply = { ok: true; results: ThroughputResult[] } | { ok: false; error: string };

async function measure(request: ModelsRequest): Promise<ThroughputResult[]> {
  const backend = await initEngine({ backend: request.backend, threads: request.threads });
  const results: ThroughputResult[] = [];
  for (const model of request.models) {
    results.push(await measureThroughput({ ...model, replicas: backend === 'wasm' ? request.threads : 1 }));
  }
  return results;
}

const port = parentPort;
if (!port) throw new Error('models-worker.ts runs as a worker thread');
port.once('message', (request: ModelsRequest) => {
  measure(request).then(
    (results) => port.postMessage({ ok: true, results } satisfies ModelsReply),
    (error: unknown) =>
      port.postMessage({
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies ModelsReply),
  );
});
