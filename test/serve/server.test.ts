/**
 * `cxr serve` as a real process: a clear error without a model, loopback by default, and a graceful SIGTERM that
 * lets an in-flight request finish.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestModel, type TestModel } from './helpers.ts';

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CXR_API_KEY: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitFor(
  read: () => string,
  pattern: RegExp,
  exited: Promise<unknown>,
): Promise<RegExpMatchArray> {
  let done = false;
  void exited.then(() => {
    done = true;
  });
  for (let i = 0; i < 600; i++) {
    const match = read().match(pattern);
    if (match) return match;
    if (done) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never saw ${pattern}; output so far:\n${read()}`);
}

describe('cxr serve', () => {
  let model: TestModel;

  before(async () => {
    model = await createTestModel();
  });

  after(async () => {
    await model?.cleanup();
  });

  test('without a model it exits 1, saying how to get one', async () => {
    const cli = runCli(['serve', '--model', path.join(model.dir, 'missing'), '--port', '0']);
    assert.equal(await cli.exited, 1);
    assert.match(cli.stderr(), /no model at .*missing.*--model DIR.*cxr train/s);
  });

  test('serves on 127.0.0.1 and finishes an in-flight request on SIGTERM', async () => {
    const cli = runCli(['serve', '--model', model.dir, '--port', '0']);
    try {
      const [, url] = await waitFor(
        cli.stderr,
        /serving model .* at (http:\/\/127\.0\.0\.1:\d+)\//,
        cli.exited,
      );
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);

      const jpeg = await readFile('samples/PNEUMONIA/person1008_virus_1691.jpeg');
      const form = new FormData();
      for (let i = 0; i < 8; i++)
        form.append('images', new Blob([jpeg], { type: 'image/jpeg' }), `x${i}.jpeg`);
      const inFlight = fetch(`${url}/api/v1/predict/batch?heatmap=1&preview=1`, {
        method: 'POST',
        body: form,
      });
      await waitFor(cli.stdout, /"url":"\/api\/v1\/predict\/batch/, cli.exited);
      cli.child.kill('SIGTERM');

      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { results: unknown[] }).results.length, 8);
      assert.equal(await cli.exited, 0);
      const log = cli.stdout();
      assert.ok(log.indexOf('shutting down') >= 0, 'shutdown is logged');
      // The batch is the last request to complete, and it completed after the signal was handled.
      assert.ok(
        log.indexOf('shutting down') < log.lastIndexOf('request completed'),
        'answered after SIGTERM',
      );
      await assert.rejects(fetch(`${url}/healthz`), 'the port is closed after shutdown');
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  test('on every interface without a key it warns; with CXR_API_KEY the API needs the key', async () => {
    const open = runCli(['serve', '--model', model.dir, '--host', '0.0.0.0', '--port', '0']);
    try {
      const [, port] = await waitFor(
        open.stderr,
        /serving model .* at http:\/\/0\.0\.0\.0:(\d+)\//,
        open.exited,
      );
      assert.match(open.stderr(), /WARNING: serving on 0\.0\.0\.0 without an API key: anyone who can reach/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/model`)).status, 200);
    } finally {
      open.child.kill('SIGKILL');
    }

    const key = 'test-key-0123456789abcdef';
    const locked = runCli(['serve', '--model', model.dir, '--host', '0.0.0.0', '--port', '0'], {
      CXR_API_KEY: key,
    });
    try {
      const [, port] = await waitFor(
        locked.stderr,
        /serving model .* at http:\/\/0\.0\.0\.0:(\d+)\//,
        locked.exited,
      );
      assert.doesNotMatch(locked.stderr(), /WARNING/);
      assert.match(locked.stderr(), /API key required/);
      assert.doesNotMatch(locked.stderr(), new RegExp(key), 'the key is never printed');
      const url = `http://127.0.0.1:${port}`;
      const refused = await fetch(`${url}/api/v1/model`);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'unauthorized');
      const allowed = await fetch(`${url}/api/v1/model`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(allowed.status, 200);
      assert.equal((await fetch(`${url}/healthz`)).status, 200, 'health checks need no key');
    } finally {
      locked.child.kill('SIGKILL');
    }

    const short = runCli(['serve', '--model', model.dir, '--port', '0', '--api-key', 'short']);
    assert.equal(await short.exited, 1);
    assert.match(short.stderr(), /at least 16 characters/);
  });
});
