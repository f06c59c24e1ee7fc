// Entry of every TypeScript worker thread (see ts-worker.ts): register tsx, then run the module asked for.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
