/**
 * The queue's measurements (issue 13), on one machine, with a real redis-server and real `cxr` processes:
 *
 *   1. throughput: `cxr predict` (local) against `cxr predict --queue` with N `cxr worker`s (rounds alternate);
 *   2. kill: `cxr predict --queue` over the same images while one of the workers is killed with SIGKILL after a
 *      few seconds: every input exactly once, exit 0, the same probabilities as the local run.
 *
 * CPU-heavy: run it alone, under the CPU lock:
 *   flock /tmp/cxr-cpu.lock node --import tsx scripts/bench-queue.ts [--model DIR] [--count 300] [--workers 2]
 *     [--rounds 2] [--kill-after 3] [--lock-seconds 15] [--images DIR]
 */
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { readMetadata } from '../src/model/io.ts';
import { openRedis, queueName } from '../src/queue/jobs.ts';
import { startRedis } from '../test/helpers/services.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    images: { type: 'string', default: '../shared/datasets/chest_xray/train' },
    count: { type: 'string', default: '300' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'kill-after': { type: 'string', default: '3' },
    'lock-seconds': { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
  },
});
const REPO = path.join(import.meta.dirname, '..');
const count = Number(values.count);

interface Row {
  path: string;
  probability: number | null;
  error: unknown;
}

/** The first count/2 images of each class folder, sorted: the same set every run. */
async function pickImages(): Promise<string[]> {
  const root = path.resolve(values.images!);
  const classes = (await readdir(root)).sort();
  const files: string[] = [];
  for (const name of classes) {
    const all = (await readdir(path.join(root, name))).filter((f) => /\.jpe?g$/i.test(f)).sort();
    files.push(...all.slice(0, Math.ceil(count / classes.length)).map((f) => path.join(root, name, f)));
  }
  return files.slice(0, count);
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: REPO, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr, seconds: (performance.now() - start) / 1000 });
      },
    );
  });
}

/** `cxr predict --queue` over the images. */
function queuedPredict(redis: string): string[] {
  return ['predict', '--model', values.model!, '--queue', redis, '--json', '--quiet', ...images];
}

function startWorker(redis: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'worker',
      '--redis',
      redis,
      '--model',
      values.model!,
      '--concurrency',
      values.concurrency!,
      '--lock-seconds',
      values['lock-seconds']!,
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      if (/ready:/.test(stderr)) resolve();
    });
    child.on('exit', () => reject(new Error(`worker exited:\n${stderr}`)));
  });
  ready.catch(() => {});
  return { child, ready, log: () => stderr };
}

async function stopWorkers(workers: ReturnType<typeof startWorker>[]) {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.all(
    workers.map((w) =>
      w.child.exitCode !== null || w.child.signalCode !== null
        ? null
        : new Promise((r) => w.child.once('exit', r)),
    ),
  );
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

const images = await pickImages();
const redis = await startRedis();
const nWorkers = Number(values.workers);
console.log(
  `bench-queue: ${images.length} images from ${values.images}, model ${values.model}, ${nWorkers} workers`,
);
console.log(`  machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, load average before: ${loadAverage()}`);
try {
  // 1. Throughput, alternating local and queue rounds so that background load hits both alike.
  const local: number[] = [];
  const queued: number[] = [];
  let reference: Row[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    const l = await run(['predict', '--model', values.model!, '--json', '--quiet', ...images]);
    if (l.code !== 0) throw new Error(`local predict exited ${l.code}: ${l.stderr}`);
    local.push(l.seconds);
    reference = JSON.parse(l.stdout);
    const workers = Array.from({ length: nWorkers }, () => startWorker(redis.url));
    await Promise.all(workers.map((w) => w.ready));
    const q = await run(queuedPredict(redis.url));
    await stopWorkers(workers);
    if (q.code !== 0) throw new Error(`queued predict exited ${q.code}: ${q.stderr}`);
    queued.push(q.seconds);
    const same = JSON.stringify(JSON.parse(q.stdout)) === JSON.stringify(reference);
    console.log(
      `  round ${round + 1}: local ${l.seconds.toFixed(2)} s (${(images.length / l.seconds).toFixed(1)} img/s), ` +
        `queue ${q.seconds.toFixed(2)} s (${(images.length / q.seconds).toFixed(1)} img/s), same worklist: ${same}`,
    );
  }
  const best = (xs: number[]) => Math.min(...xs);
  const ratio = best(local) / best(queued);
  console.log(
    `  throughput (best round): local ${(images.length / best(local)).toFixed(1)} img/s, ` +
      `${nWorkers} workers ${(images.length / best(queued)).toFixed(1)} img/s; queue/local = ${ratio.toFixed(2)} ` +
      `(target: within 20%, i.e. >= 0.80): ${ratio >= 0.8 ? 'met' : 'NOT met'}`,
  );
  console.log('  (local: whole command incl. model load; queue: producer command, workers already started)');

  // 2. Kill one worker a few seconds into a queued run.
  if (reference.length === 0) {
    reference = JSON.parse(
      (await run(['predict', '--model', values.model!, '--json', '--quiet', ...images])).stdout,
    );
  }
  const metadata = await readMetadata(values.model!);
  const connection = openRedis(redis.url);
  const queue = new Queue(queueName(metadata), { connection });
  const workers = Array.from({ length: nWorkers }, () => startWorker(redis.url));
  await Promise.all(workers.map((w) => w.ready));
  const before = await queue.getCompletedCount();
  const started = performance.now();
  const pending = run(queuedPredict(redis.url));
  // Kill once results are flowing (the producer needs a few seconds to start and enqueue), and no sooner than
  // --kill-after: the worker then certainly holds jobs.
  const minimum = Number(values['kill-after']) * 1000;
  while ((await queue.getCompletedCount()) - before < 20 || performance.now() - started < minimum) {
    await new Promise((r) => setTimeout(r, 100));
  }
  workers[0].child.kill('SIGKILL');
  const killedAt = ((performance.now() - started) / 1000).toFixed(1);
  const k = await pending;
  await stopWorkers(workers.slice(1));
  const rows = JSON.parse(k.stdout || '[]') as Row[];
  const names = new Set(rows.map((r) => r.path));
  const byPath = new Map(reference.map((r) => [r.path, r.probability]));
  const sameProbabilities = rows.every((r) => byPath.get(r.path) === r.probability);
  const survivor = workers
    .slice(1)
    .map((w) => /stopped after (\d+)/.exec(w.log())?.[1])
    .join('+');
  console.log(
    `  kill: worker 1 SIGKILLed ${killedAt} s in; exit ${k.code}, ${rows.length} rows, ${names.size} distinct inputs, ` +
      `all ${images.length} present: ${images.every((f) => names.has(f))}, same probabilities as local: ${sameProbabilities}, ` +
      `${k.seconds.toFixed(1)} s (the killed worker's jobs wait --lock-seconds ${values['lock-seconds']} before another worker takes them); ` +
      `surviving worker(s) completed ${survivor} job(s)`,
  );
  // Which jobs the killed worker held: BullMQ counts each job's stalls.
  const jobs = await queue.getJobs(['completed', 'failed']);
  const stalled = jobs.filter((job) => job.stalledCounter > 0).length;
  await queue.close();
  connection.disconnect();
  console.log(
    `  kill: ${stalled} job(s) were held by the killed worker, detected as stalled and run again elsewhere`,
  );
  console.log(`  load average after: ${loadAverage()}`);
} finally {
  await redis.stop();
}
