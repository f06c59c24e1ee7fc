/** Host header check and API key: who may call the server, through `app.inject` with a fake scorer. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/serve/app.ts';
import { defaultAllowedHosts, hostAllowed, hostOf, isLoopback } from '../../src/serve/plugins/access.ts';
import { FakeScorer } from './helpers.ts';
import { assertError } from './http-helpers.ts';

const KEY = 'kkkkkkkkkkkk-secret-key';

describe('Host header', () => {
  test('is read without port or IPv6 brackets; malformed values are null', () => {
    assert.equal(hostOf('Example.org:8080'), 'example.org');
    assert.equal(hostOf('[::1]:8080'), '::1');
    assert.equal(hostOf('127.0.0.1'), '127.0.0.1');
    assert.equal(hostOf(undefined), null);
    assert.equal(hostOf('a:b:c'), null);
    assert.equal(hostOf('[]'), null);
  });

  test('matches exact names, .domain for the domain and its sub-domains, * for any', () => {
    assert.ok(hostAllowed('xray.example.org', ['.example.org']));
    assert.ok(hostAllowed('example.org', ['.example.org']));
    assert.ok(!hostAllowed('badexample.org', ['.example.org']));
    assert.ok(hostAllowed('anything', ['*']));
    assert.ok(hostAllowed('::1', ['[::1]']));
    assert.ok(!hostAllowed('evil.test', ['localhost', '127.0.0.1']));
  });

  test('defaults: the bound address and loopback; every local address when bound to all interfaces', () => {
    assert.deepEqual(defaultAllowedHosts('127.0.0.1').sort(), ['127.0.0.1', '::1', 'localhost']);
    assert.ok(defaultAllowedHosts('10.1.2.3').includes('10.1.2.3'));
    const all = defaultAllowedHosts('0.0.0.0');
    assert.ok(all.includes('127.0.0.1') && all.length > 3, all.join(' '));
    assert.ok(isLoopback('127.0.0.1') && isLoopback('localhost') && isLoopback('::1'));
    assert.ok(!isLoopback('0.0.0.0') && !isLoopback('192.168.1.5'));
  });
});

describe('access rules in the app', () => {
  let app: FastifyInstance;

  before(async () => {
    app = await buildApp({
      scorer: new FakeScorer(),
      web: false,
      access: { allowedHosts: ['localhost', '127.0.0.1', '.example.org'], apiKey: KEY },
    });
  });

  after(async () => {
    await app?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:8080', ...headers } });

  test('a Host this server does not serve gets 403 host-not-allowed, on every route', async () => {
    for (const url of ['/healthz', '/api/v1/model', '/docs']) {
      const response = await get(url, { host: 'attacker.test:8080', authorization: `Bearer ${KEY}` });
      assertError(response, 403, 'host-not-allowed');
      assert.match(response.json().error.message, /--allowed-hosts attacker\.test/);
    }
    assert.equal((await get('/healthz', { host: 'pacs.example.org' })).statusCode, 200);
  });

  test('/api/ needs the key as a Bearer token: 401 JSON with WWW-Authenticate otherwise', async () => {
    const missing = await get('/api/v1/model');
    assertError(missing, 401, 'unauthorized');
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="Pneumoscope"');
    assert.match(missing.json().error.message, /Authorization: Bearer <key>/);
    assertError(await get('/api/v1/model', { authorization: `Bearer ${KEY}x` }), 401, 'unauthorized');
    assertError(await get('/api/v1/model', { authorization: KEY }), 401, 'unauthorized');
    assertError(await get('/api/v1/no-such-route'), 401, 'unauthorized');
    // The route decides, not the URL's spelling: percent-encoding the path does not get past the key.
    for (const url of ['/%61pi/v1/model', '/%61pi/v1/no-such-route', '/api/v1/%6dodel'])
      assertError(await get(url), 401, 'unauthorized');
    assert.equal((await get('/api/v1/model', { authorization: `Bearer ${KEY}` })).statusCode, 200);
    const post = await app.inject({
      method: 'POST',
      url: '/api/v1/predict',
      headers: { host: 'localhost', 'content-type': 'image/png', authorization: `bearer ${KEY}` },
      payload: 'bytes',
    });
    assert.equal(post.statusCode, 200);
  });

  test('health, docs and the OpenAPI document stay open; the document declares the bearer scheme', async () => {
    assert.equal((await get('/healthz')).statusCode, 200);
    const doc = (await get('/openapi.json')).json();
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'http', scheme: 'bearer' });
    assert.deepEqual(doc.security, [{ apiKey: [] }]);
  });

  test('a key shorter than 16 characters is refused at start-up', async () => {
    await assert.rejects(
      buildApp({ scorer: new FakeScorer(), web: false, access: { apiKey: 'short' } }),
      /at least 16 characters/,
    );
  });
});
