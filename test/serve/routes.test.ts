/**
 * The routes around scoring (model description, health, OpenAPI and docs, samples, the app's files, 404s), through
 * `app.inject` with a fake scorer: none of them needs a real model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.ts';
import { wilsonInterval } from '../../src/metrics/intervals.ts';
import { readMetadata } from '../../src/model/io.ts';
import type { ModelMetadata } from '../../src/model/metadata.ts';
import { buildApp } from '../../src/serve/app.ts';
import { buildWebBundle, type WebBundle } from '../../src/serve/routes/web.ts';
import type { ModelInfo } from '../../src/serve/schemas.ts';
import { FakeScorer } from './helpers.ts';
import { assertError } from './http-helpers.ts';

describe('model, health, docs, samples and the app', () => {
  let app: FastifyInstance;
  let bundle: WebBundle;

  before(async () => {
    bundle = await buildWebBundle();
    app = await buildApp({ scorer: new FakeScorer(), webBundle: bundle });
  });

  after(async () => {
    await app?.close();
  });

  test('GET /api/v1/model describes the model, its operating point and card', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/model' });
    assert.equal(response.statusCode, 200);
    const body = response.json() as ModelInfo;
    assert.equal(body.name, 'serve-test-model');
    assert.equal(body.threshold, 0.5);
    assert.equal(body.thresholdRule, 'test-rule');
    assert.deepEqual(body.calibration, {
      method: 'temperature',
      temperature: 1.5,
      description: 'temperature scaling (T = 1.500)',
    });
    assert.equal(body.imageSize, 32);
    assert.equal(body.trainingImages, 100);
    assert.equal(body.validationImages, 20);
    assert.equal((body.metrics as Record<string, unknown>).sensitivity, 0.9);
    assert.match(body.modelCard ?? '', /^# Test model/);
    // An older model's `metrics` reach the app as its validation record, with Wilson intervals from its counts.
    assert.equal(body.evaluations.length, 1);
    const [validation] = body.evaluations;
    assert.equal(validation.kind, 'validation');
    assert.equal(validation.n, 20);
    assert.deepEqual((validation.metrics.ci95 as Record<string, unknown>).sensitivity, wilsonInterval(9, 10));
    assert.match(body.localCheckWarning, /another hospital's images is lower/);
  });

  test('GET /api/v1/model serialises the shipped model: its shift-suite record with per-shift intervals', async () => {
    const scorer = new FakeScorer();
    (scorer as { metadata: ModelMetadata }).metadata = await readMetadata(DEFAULT_MODEL_DIR);
    const shipped = await buildApp({ scorer, webBundle: bundle });
    try {
      const response = await shipped.inject({ method: 'GET', url: '/api/v1/model' });
      assert.equal(response.statusCode, 200, response.body.slice(0, 200));
      const shift = (response.json() as ModelInfo).evaluations.find((e) => e.kind === 'shift');
      const zoom = shift?.perShift?.['zoom-in-25'];
      assert.ok(zoom, 'the shift record lists zoom-in-25');
      assert.equal(zoom.ci95.specificity.length, 2);
    } finally {
      await shipped.close();
    }
  });

  test('GET /healthz reports the model and the queue', async () => {
    const scored = await app.inject({
      method: 'POST',
      url: '/api/v1/predict',
      headers: { 'content-type': 'image/png' },
      payload: 'bytes',
    });
    assert.equal(scored.statusCode, 200);
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.model, { name: 'serve-test-model', version: '0.0.1-test' });
    assert.equal(body.queue.capacity, 64);
    assert.equal(body.queue.completed, 1);
  });

  test('/openapi.json documents every API route and both upload forms; /docs works offline', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.match(doc.openapi, /^3\./);
    for (const route of ['/api/v1/predict', '/api/v1/predict/batch', '/api/v1/model', '/healthz']) {
      assert.ok(doc.paths[route], `missing ${route}`);
    }
    const content = doc.paths['/api/v1/predict'].post.requestBody.content;
    assert.ok(content['multipart/form-data'] && content['application/dicom']);
    assert.ok(doc.paths['/api/v1/predict'].post.responses['503']);
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.doesNotMatch(docs.body, /https?:\/\/(?!localhost)[^"']*\.js/);
    const asset = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    assert.equal(asset.statusCode, 200);
  });

  test('samples are listed and served; bad names are refused', async () => {
    const list = (await app.inject({ method: 'GET', url: '/api/v1/samples' })).json();
    assert.equal(list.samples.length, 4);
    const first = await app.inject({ method: 'GET', url: list.samples[0].url });
    assert.equal(first.statusCode, 200);
    assert.match(String(first.headers['content-type']), /^(image\/jpeg|application\/dicom)/);
    assertError(await app.inject({ method: 'GET', url: '/samples/NORMAL/missing.jpeg' }), 404, 'not-found');
    assertError(await app.inject({ method: 'GET', url: '/samples/NORMAL/..%2Fx.jpeg' }), 400, 'bad-request');
  });

  test('GET / serves the app with a strict content security policy', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`/app\\.js\\?v=${bundle.hash}`));
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const js = await app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(js.statusCode, 200);
    const cached = await app.inject({
      method: 'GET',
      url: '/app.js',
      headers: { 'if-none-match': js.headers.etag },
    });
    assert.equal(cached.statusCode, 304);
    assert.equal((await app.inject({ method: 'GET', url: '/app.css' })).statusCode, 200);
  });

  test('unknown routes → 404 not-found in the error shape', async () => {
    assertError(await app.inject({ method: 'GET', url: '/api/v1/nothing' }), 404, 'not-found');
    assertError(await app.inject({ method: 'DELETE', url: '/api/v1/model' }), 404, 'not-found');
  });
});
