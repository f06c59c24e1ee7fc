/**
 * Scoring on Redis with BullMQ, against a real redis-server: `cxr worker` + `cxr predict --queue` give the local
 * worklist; a worker killed mid-job has its jobs retried once by another worker and each reported once; a job for
 * another model version comes back as a failed row.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Job } from 'bullmq';
import { fileInput } from '../../src/predict/inputs.ts';
import { Predictor } from '../../src/predict/predictor.ts';
import { QueueClient } from '../../src/queue/producer.ts';
import { startScoringWorker } from '../../src/queue/worker.ts';
import { cxr, cxrInBackground, REPO } from '../helpers/cli.ts';
import { type RedisServer, startRedis } from '../helpers/services.ts';
import { badInputs, DICOM_FIXTURES } from '../predict/bad-inputs.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from '../predict/tiny-model.ts';

let redis: RedisServer;
let model: TinyModelDir;
let work: string;

before(async () => {
  redis = await startRedis();
  model = await saveTinyModel({ backend: 'wasm', model: seededModel });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-queue-'));
  await mkdir(path.join(work, 'bad'));
  for (const bad of badInputs()) await writeFile(path.join(work, 'bad', bad.name), bad.bytes);
});

after(async () => {
  await redis?.stop();
  await model?.cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('queue workers', () => {
  test('two `cxr worker`s + `cxr predict --queue`: the same worklist as a local run, exit codes included', async () => {
    const workers = [0, 1].map(() =>
      cxrInBackground(['worker', '--redis', redis.url, '--model', model.dir, '--concurrency', '4']),
    );
    try {
      await Promise.all(workers.map((w) => w.waitForStderr(/ready: model tiny-test-model 0\.0\.0-test/)));
      const inputs = [DICOM_FIXTURES, path.join(work, 'bad', '*'), path.join(work, 'missing.png')];
      const queued = await cxr(['predict', '--model', model.dir, '--queue', redis.url, '--json', ...inputs]);
      const local = await cxr(['predict', '--model', model.dir, '--json', ...inputs]);
      assert.equal(local.code, 2, local.stderr);
      assert.equal(queued.code, local.code, queued.stderr);
      const rows = JSON.parse(queued.stdout);
      assert.ok(rows.length > 20);
      assert.deepEqual(rows, JSON.parse(local.stdout));
      // The model's set-up notes (e.g. no learned gate) are the workers' to print; every row's line is the same.
      const rowLines = (text: string) => text.replace(/^cxr predict: input gate: .*\n/m, '');
      assert.equal(queued.stderr, rowLines(local.stderr));
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) {
        const done = await w.exited;
        assert.equal(done.code, 0, done.stderr);
        assert.match(done.stderr, /stopped after \d+ job\(s\)/);
      }
      const handled = workers.map((w) => Number(/stopped after (\d+)/.exec(w.output().stderr)![1]));
      // The missing file is reported by the producer itself; every other input was one job.
      assert.equal(handled[0] + handled[1], rows.length - 1);
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
    }
  });

  test('a worker killed (SIGKILL) while holding jobs: each job retried once elsewhere, reported once', async () => {
    const identity = { name: model.metadata.name, version: model.metadata.version };
    const hanging = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/queue/hanging-worker.ts', redis.url, identity.name, identity.version],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const producer = await QueueClient.connect({ redis: redis.url, model: identity });
    const predictor = await Predictor.load(model.dir);
    let healthy: Awaited<ReturnType<typeof startScoringWorker>> | undefined;
    try {
      await new Promise<void>((resolve) => hanging.stdout!.once('data', () => resolve()));
      const files = ['source-a.jpeg', 'source-b.jpeg', 'explicit-8bit.dcm'];
      const items = files.map((f) => ({
        name: f,
        input: { kind: 'file' as const, path: path.join(DICOM_FIXTURES, f) },
      }));
      const results = producer.score(items);
      while ((await producer.queue.getActiveCount()) < items.length)
        await new Promise((r) => setTimeout(r, 50));
      hanging.kill('SIGKILL');
      healthy = await startScoringWorker({
        redis: redis.url,
        model: identity,
        lockDurationMs: 2000,
        stalledIntervalMs: 500,
        openInput: (input, name) => fileInput(input.kind === 'file' ? input.path : '', name),
        score: (inputs, options) => predictor.predict(inputs, options),
      });
      const rows = await results;
      assert.deepEqual(
        rows.map((r) => r.name),
        files,
      );
      assert.ok(rows.every((r) => typeof r.probability === 'number' && r.error === undefined));
      const local = await predictor.predict(files.map((f) => fileInput(path.join(DICOM_FIXTURES, f), f)));
      for (const row of rows)
        assert.equal(row.probability, local.find((l) => l.name === row.name)!.probability);
      const jobs = await producer.queue.getJobs(['completed', 'active', 'wait', 'failed', 'delayed']);
      const ours = jobs.filter((job) => files.includes(job.data.name));
      assert.equal(ours.length, 3);
      for (const job of ours) {
        const fresh = (await Job.fromId(producer.queue, job.id!))!;
        assert.equal(fresh.stalledCounter, 1, 'stalled (and so retried) exactly once');
        assert.equal(fresh.returnvalue.worker, `${os.hostname()}:${process.pid}`);
      }
    } finally {
      hanging.kill('SIGKILL');
      await healthy?.close();
      await producer.close();
      predictor.dispose();
    }
  });

  test('a job for another model version is not scored: it comes back as a failed row', async () => {
    const identity = { name: model.metadata.name, version: model.metadata.version };
    const worker = await startScoringWorker({
      redis: redis.url,
      model: identity,
      openInput: (_input, name) => ({ name, read: async () => new Uint8Array() }),
      score: async () => assert.fail('must not score'),
    });
    const producer = await QueueClient.connect({ redis: redis.url, model: identity });
    try {
      // A producer that claims another version on this queue (a queue per version normally keeps them apart).
      (producer as unknown as { options: { model: object } }).options.model = {
        ...identity,
        version: '9.9.9',
      };
      const [row] = await producer.score([
        { name: 'x.png', input: { kind: 'file', path: '/nonexistent/x.png' } },
      ]);
      assert.equal(row.name, 'x.png');
      assert.equal(row.error?.code, 'failed');
      assert.match(
        row.error!.message,
        /queue: job is for model tiny-test-model 9\.9\.9, this worker has tiny-test-model 0\.0\.0-test/,
      );
    } finally {
      await worker.close();
      await producer.close();
    }
  });

  test('Redis down: a clear error, exit 1', async () => {
    const run = await cxr([
      'predict',
      '--model',
      model.dir,
      '--queue',
      'redis://127.0.0.1:1',
      DICOM_FIXTURES,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
