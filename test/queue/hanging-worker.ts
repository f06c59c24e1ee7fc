/**
 * A worker process for the kill test: takes jobs and never finishes them (its scorer hangs), so the test can kill
 * it with SIGKILL while it holds jobs. Arguments: REDIS_URL MODEL_NAME MODEL_VERSION. Prints "ready".
 */
import { startScoringWorker } from '../../src/queue/worker.ts';

const [redis, name, version] = process.argv.slice(2);
await startScoringWorker({
  redis,
  model: { name, version },
  concurrency: 8,
  lockDurationMs: 2000,
  openInput: (_input, inputName) => ({ name: inputName, read: () => new Promise<Uint8Array>(() => {}) }),
  score: () => new Promise(() => {}),
});
process.stdout.write('ready\n');
