/**
 * Worker threads that run TypeScript modules. A worker does not inherit the tsx loader that `bin/cxr.js` (or
 * `node --import tsx`) registered in the main thread, so each starts from a small JavaScript entry that
 * registers tsx and then imports the module.
 */
import { Worker } from 'node:worker_threads';

/** Starts a worker thread running the TypeScript module at `module`; talk to it with messages. */
export function startTsWorker(module: URL): Worker {
  return new Worker(new URL('./ts-worker-entry.mjs', import.meta.url), {
    workerData: { module: module.href },
  });
}
