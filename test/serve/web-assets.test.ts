/**
 * What a browser needs to score on the device, served by `cxr serve`: the model's files (and nothing else from
 * its folder), TF.js's WebAssembly binaries from node_modules, the code-split chunks, a service worker that keeps
 * them for offline use, and CSPs that allow WebAssembly in the app and no https upgrade on /docs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Predictor } from '../../src/predict/predictor.ts';
import { buildApp } from '../../src/serve/app.ts';
import { docsContentSecurityPolicy } from '../../src/serve/plugins/openapi.ts';
import { buildWebBundle, type WebBundle } from '../../src/serve/routes/web.ts';
import { createTestModel, FakeScorer, type TestModel } from './helpers.ts';

describe('on-device assets', () => {
  let model: TestModel;
  let scorer: Predictor;
  let app: FastifyInstance;
  let bundle: WebBundle;

  before(async () => {
    model = await createTestModel();
    scorer = await Predictor.load(model.dir, { backend: 'wasm' });
    bundle = await buildWebBundle();
    app = await buildApp({ scorer, webBundle: bundle, disposeScorerOnClose: false });
  });

  after(async () => {
    await app?.close();
    scorer?.dispose();
    await model?.cleanup();
  });

  test('the model directory serves model.json, its weights and metadata.json only', async () => {
    const json = await app.inject({ method: 'GET', url: '/model/model.json' });
    assert.equal(json.statusCode, 200);
    const manifest = json.json() as { weightsManifest: { paths: string[] }[] };
    for (const file of manifest.weightsManifest.flatMap((g) => g.paths)) {
      const weights = await app.inject({ method: 'GET', url: `/model/${file.replace(/^\.\//, '')}` });
      assert.equal(weights.statusCode, 200, file);
      assert.equal(weights.headers['content-type'], 'application/octet-stream');
    }
    const metadata = await app.inject({ method: 'GET', url: '/model/metadata.json' });
    assert.equal((metadata.json() as { threshold: number }).threshold, 0.5);
    for (const url of ['/model/MODEL_CARD.md', '/model/..%2Fpackage.json', '/model/split.json']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
  });

  test('the WebAssembly binaries come from node_modules; the app may compile them', async () => {
    const wasm = await app.inject({ method: 'GET', url: '/vendor/tfjs-wasm/tfjs-backend-wasm-simd.wasm' });
    assert.equal(wasm.statusCode, 200);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    assert.deepEqual([...wasm.rawPayload.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'a wasm module');
    assert.equal((await app.inject({ method: 'GET', url: '/vendor/tfjs-wasm/other.wasm' })).statusCode, 404);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.match(String(page.headers['content-security-policy']), /script-src 'self' 'wasm-unsafe-eval'/);
  });

  test('the on-device scorer is a chunk of its own, served by name', async () => {
    const names = Object.keys(bundle.chunks);
    assert.ok(names.length > 0, 'esbuild split the on-device code out of app.js');
    const chunk = await app.inject({ method: 'GET', url: `/${names[0]}` });
    assert.equal(chunk.statusCode, 200);
    assert.ok(bundle.js.length < 200_000, `app.js stays small (${bundle.js.length} bytes) without TF.js`);
    assert.equal((await app.inject({ method: 'GET', url: '/chunk-NOPE.js' })).statusCode, 404);
  });

  test('the service worker keeps the app, the model and the wasm for offline use', async () => {
    const worker = await app.inject({ method: 'GET', url: '/sw.js' });
    assert.equal(worker.statusCode, 200);
    for (const url of ['/', `/app.js?v=${bundle.hash}`, '/model/model.json', '/model/metadata.json']) {
      assert.ok(worker.body.includes(JSON.stringify(url)), `precaches ${url}`);
    }
    assert.match(worker.body, /tfjs-backend-wasm-simd\.wasm/);
    assert.match(worker.body, /\/api\/v1\/predict/, 'never answers uploads from the cache');
  });

  test('a server without a model directory says on-device scoring is not offered', async () => {
    const bare = await buildApp({ scorer: new FakeScorer(), webBundle: bundle });
    try {
      const response = await bare.inject({ method: 'GET', url: '/model/model.json' });
      assert.equal(response.statusCode, 404);
      assert.match(response.body, /does not offer its model for on-device scoring/);
    } finally {
      await bare.close();
    }
  });

  test('/docs keeps swagger-ui’s CSP but drops upgrade-insecure-requests and style hashes', () => {
    const csp = docsContentSecurityPolicy(
      "default-src 'self'; img-src 'self' data: validator.swagger.io; script-src 'self' 'sha256-x'; " +
        "style-src 'self' https: 'sha256-y'; upgrade-insecure-requests;",
    );
    assert.doesNotMatch(csp, /upgrade-insecure-requests|https:|validator/);
    assert.match(csp, /style-src 'self' 'unsafe-inline'/);
    assert.match(csp, /script-src 'self' 'sha256-x'/);
  });
});
