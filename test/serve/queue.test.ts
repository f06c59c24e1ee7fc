/**
 * The bounded inference queue, with a fake scorer the test releases by hand: full queue → 503 + Retry-After,
 * micro-batching, timeouts, scorer failures, and draining on close.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/serve/app.ts';
import { ApiError } from '../../src/serve/errors.ts';
import type { ServerLimits } from '../../src/serve/limits.ts';
import { InferenceQueue } from '../../src/serve/queue.ts';
import { FakeScorer } from './helpers.ts';

const input = (name: string, size = 10) => ({ name, bytes: new Uint8Array(size).fill(1) });

function queueWith(
  scorer: FakeScorer,
  options: Partial<ConstructorParameters<typeof InferenceQueue>[0]> = {},
) {
  return new InferenceQueue({
    scorer,
    capacity: 2,
    maxBatch: 8,
    concurrency: 1,
    timeoutMs: 10_000,
    maxPixels: 1_000_000,
    ...options,
  });
}

/** Waits (on the event loop, not the clock) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), 'condition never became true');
}

describe('InferenceQueue', () => {
  test('refuses work beyond its capacity with queue-full and a Retry-After hint', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer);
    const running = queue.run({ inputs: [input('a')], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    const waiting = queue.run({ inputs: [input('b'), input('c')], heatmaps: false });
    assert.equal(queue.stats().waiting, 2);
    assert.throws(
      () => queue.run({ inputs: [input('d')], heatmaps: false }),
      (err: unknown) =>
        err instanceof ApiError && err.code === 'queue-full' && (err.retryAfterSeconds ?? 0) >= 1,
    );
    assert.equal(queue.stats().rejected, 1);
    scorer.release();
    await until(() => scorer.pendingCalls === 1);
    scorer.release();
    assert.deepEqual(
      (await running).map((r) => r.name),
      ['a'],
    );
    assert.deepEqual(
      (await waiting).map((r) => r.name),
      ['b', 'c'],
    );
  });

  test('refuses work once the waiting uploads hold too many bytes, but never an empty queue', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer, { capacity: 10, maxQueuedBytes: 100 });
    const running = queue.run({ inputs: [input('a', 500)], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    const big = queue.run({ inputs: [input('big', 150)], heatmaps: false });
    assert.throws(
      () => queue.run({ inputs: [input('small', 10)], heatmaps: false }),
      (err: unknown) => err instanceof ApiError && err.code === 'queue-full',
    );
    scorer.release();
    await running;
    await until(() => scorer.pendingCalls === 1);
    scorer.release();
    assert.equal((await big)[0].name, 'big');
  });

  test('scores waiting requests with the same options together, each getting its own results', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer, { capacity: 10 });
    const first = queue.run({ inputs: [input('first')], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    const plain = [1, 2, 3].map((n) => queue.run({ inputs: [input(`p${n}`, n)], heatmaps: false }));
    const withHeatmap = queue.run({ inputs: [input('h')], heatmaps: true });
    scorer.release();
    await until(() => scorer.pendingCalls === 1);
    scorer.release();
    await until(() => scorer.pendingCalls === 1);
    scorer.release();
    await first;
    const results = await Promise.all(plain);
    assert.deepEqual(
      results.map((r) => r[0].name),
      ['p1', 'p2', 'p3'],
    );
    // Each result is the one computed from that request's own bytes.
    assert.deepEqual(
      results.map((r) => r[0].probability),
      [1, 2, 3].map((n) => n / 97),
    );
    assert.equal((await withHeatmap)[0].heatmapPng?.length, 4);
    assert.deepEqual(
      scorer.calls.map((call) => call.names.length),
      [1, 3, 1],
      'three plain requests shared one call; the heatmap request had its own',
    );
    assert.equal(scorer.calls[2].options?.heatmaps, true);
  });

  test('only scored images move the per-image time behind Retry-After', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer, { capacity: 8 });
    const start = queue.stats().msPerImage;
    // Files the scorer refuses (empty here, like a 415 in real life) finish fast; they must not count.
    for (let i = 0; i < 5; i++) {
      const refused = queue.run({ inputs: [input(`empty-${i}`, 0)], heatmaps: false });
      await until(() => scorer.pendingCalls === 1);
      scorer.release();
      const [result] = await refused;
      assert.equal(result.error?.code, 'empty');
    }
    assert.equal(queue.stats().msPerImage, start, 'refused files left the estimate alone');
    assert.equal(queue.stats().completed, 5);
    const scored = queue.run({ inputs: [input('slow')], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    scorer.release();
    await scored;
    assert.notEqual(queue.stats().msPerImage, start, 'a scored image moves it');
  });

  test('a request that waits too long gets inference-timeout and leaves the queue', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer, { timeoutMs: 30 });
    const running = queue.run({ inputs: [input('a')], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    const waiting = queue.run({ inputs: [input('b')], heatmaps: false });
    for (const pending of [running, waiting]) {
      await assert.rejects(
        pending,
        (err: unknown) => err instanceof ApiError && err.code === 'inference-timeout',
      );
    }
    assert.equal(queue.stats().waiting, 0);
    scorer.release();
    await until(() => queue.stats().running === 0);
    assert.equal(scorer.calls.length, 1, 'the expired waiting request was never scored');
  });

  test('drain refuses new work and resolves once running work is done', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const queue = queueWith(scorer);
    const running = queue.run({ inputs: [input('a')], heatmaps: false });
    await until(() => scorer.pendingCalls === 1);
    let drained = false;
    const draining = queue.drain().then(() => {
      drained = true;
    });
    assert.throws(
      () => queue.run({ inputs: [input('b')], heatmaps: false }),
      (err: unknown) => err instanceof ApiError && err.code === 'shutting-down',
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drained, false);
    scorer.release();
    await running;
    await draining;
    assert.equal(drained, true);
  });
});

describe('queueing through the HTTP API', () => {
  async function appWith(scorer: FakeScorer, limits: Partial<ServerLimits>): Promise<FastifyInstance> {
    return buildApp({ scorer, limits: { maxBatchFiles: 1, concurrency: 1, ...limits }, web: false });
  }
  const post = (app: FastifyInstance, body = 'xx') =>
    app.inject({
      method: 'POST',
      url: '/api/v1/predict',
      headers: { 'content-type': 'image/png' },
      payload: body,
    });

  test('a full queue answers 503 queue-full with Retry-After; the queued requests still succeed', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const app = await appWith(scorer, { queueCapacity: 2 });
    try {
      const first = post(app);
      await until(() => scorer.pendingCalls === 1);
      const queued = [post(app), post(app)];
      await until(() => app.inference.stats().waiting === 2);
      const refused = await post(app);
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.json().error.code, 'queue-full');
      assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
      scorer.release();
      await until(() => scorer.pendingCalls === 1);
      scorer.release();
      for (const response of await Promise.all([first, ...queued])) assert.equal(response.statusCode, 200);
    } finally {
      scorer.release();
      await app.close();
    }
  });

  test('inference that outlasts the timeout answers 503 inference-timeout with Retry-After', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const app = await appWith(scorer, { inferenceTimeoutMs: 30 });
    try {
      const response = await post(app);
      assert.equal(response.statusCode, 503);
      assert.equal(response.json().error.code, 'inference-timeout');
      assert.ok(response.headers['retry-after']);
    } finally {
      scorer.release();
      await app.close();
    }
  });

  test('a scorer crash is a 500 with a generic message, and the next request works', async () => {
    const scorer = new FakeScorer();
    let failNext = true;
    const predict = scorer.predict.bind(scorer);
    scorer.predict = async (inputs, options) => {
      if (failNext) {
        failNext = false;
        throw new Error('kernel exploded at /secret/path');
      }
      return predict(inputs, options);
    };
    const app = await appWith(scorer, {});
    try {
      const crashed = await post(app);
      assert.equal(crashed.statusCode, 500);
      assert.deepEqual(crashed.json(), { error: { code: 'internal', message: 'internal server error' } });
      assert.equal((await post(app)).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  test('closing the app disposes the scorer after in-flight work', async () => {
    const scorer = new FakeScorer({ autoRelease: false });
    const app = await appWith(scorer, {});
    const inFlight = post(app);
    await until(() => scorer.pendingCalls === 1);
    const closing = app.close();
    assert.equal(scorer.disposed, false);
    scorer.release();
    assert.equal((await inFlight).statusCode, 200);
    await closing;
    assert.equal(scorer.disposed, true);
  });
});
