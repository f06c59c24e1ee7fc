/**
 * Errors that happen below the routes, over a real socket (app.inject cannot send a wrong Content-Length or a
 * slow upload): every one answers the documented `{"error":{"code","message"}}` body.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/serve/app.ts';
import { FakeScorer } from './helpers.ts';
import { multipart } from './http-helpers.ts';

interface RawAnswer {
  status: number;
  headers: string;
  body: { error: { code: string; message: string } };
}

describe('errors below the routes', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = await buildApp({ scorer: new FakeScorer(), web: false, limits: { requestTimeoutMs: 400 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as net.AddressInfo).port;
  });

  after(async () => {
    await app?.close();
  });

  /** Writes bytes to a fresh connection and parses the last answer the server sends before closing it. */
  function send(request: string | Buffer): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const answers = text.split(/(?=HTTP\/1\.1 \d{3} )/);
        const last = answers[answers.length - 1];
        const [head, body] = last.split('\r\n\r\n');
        try {
          resolve({ status: Number(head.split(' ')[1]), headers: head, body: JSON.parse(body) });
        } catch {
          reject(new Error(`not a JSON answer:\n${text}`));
        }
      });
      socket.write(request);
      // Leave the socket half open: the server decides when the exchange is over.
    });
  }

  const post = (headers: string, body: string) =>
    `POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n${headers}\r\n\r\n${body}`;

  test('a Content-Length shorter than the body: the surplus gets a JSON 400', async () => {
    const answer = await send(post('Content-Length: 3', 'abcdefgh'));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'bad-request');
    assert.match(answer.body.error.message, /Content-Length/);
    assert.match(answer.headers, /content-type: application\/json/i);
  });

  test('a Content-Length that is not a number: JSON 400 naming the header', async () => {
    const answer = await send(post('Content-Length: abc', 'abcdefgh'));
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, {
      error: { code: 'bad-request', message: 'invalid Content-Length header' },
    });
  });

  test('a Content-Length longer than the body (a stalled upload): JSON 408 after the request timeout', async () => {
    const started = Date.now();
    const answer = await send(post('Content-Length: 300', 'abcdefgh'));
    assert.equal(answer.status, 408);
    assert.deepEqual(answer.body, {
      error: { code: 'request-timeout', message: 'the request did not arrive within 0.4 s' },
    });
    assert.ok(Date.now() - started < 5000, 'answered near the limit, not after Node’s 30 s check interval');
  });

  test('headers over the size limit: JSON 431', async () => {
    const answer = await send(
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.equal(answer.status, 431);
    assert.equal(answer.body.error.code, 'headers-too-large');
  });

  test('something that is not HTTP, and a malformed URL: JSON 400', async () => {
    const garbage = await send('HELLO\r\n\r\n');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error.code, 'bad-request');
    const badUrl = await send(
      'GET /samples/%zz/x.jpeg HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    assert.equal(badUrl.status, 400);
    assert.deepEqual(badUrl.body, {
      error: { code: 'bad-request', message: 'malformed URL (invalid percent-encoding)' },
    });
  });

  test('file-count limits name the limit, in good grammar', async () => {
    const two = multipart([
      { field: 'image', filename: 'a.png', data: 'aaa' },
      { field: 'image', filename: 'b.png', data: 'bbb' },
    ]);
    const single = await app.inject({ method: 'POST', url: '/api/v1/predict', ...two });
    assert.equal(single.statusCode, 413);
    assert.equal(
      single.json().error.message,
      'this route takes one image per request; send several to /api/v1/predict/batch',
    );
    const many = multipart(
      Array.from({ length: 33 }, (_, i) => ({ field: 'images', filename: `${i}.png`, data: 'aaa' })),
    );
    const batch = await app.inject({ method: 'POST', url: '/api/v1/predict/batch', ...many });
    assert.equal(batch.statusCode, 413);
    assert.deepEqual(batch.json(), {
      error: {
        code: 'too-many-files',
        message: 'at most 32 files per request; split the upload into several requests',
      },
    });
  });
});
