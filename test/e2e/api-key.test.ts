/**
 * The browser app against a server with an API key: it asks for the key once, carries it on every API call,
 * keeps it for the tab, and takes it from a `#key=…` link without leaving it in the address bar.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium } from 'playwright-core';
import { buildApp } from '../../src/serve/app.ts';
import { FakeScorer } from '../serve/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'e2e-key-0123456789abcdef';

describe('browser app with an API key', {
  skip: !existsSync(CHROMIUM) && 'chromium is not installed',
}, () => {
  let app: FastifyInstance;
  let context: BrowserContext;
  let userDataDir: string;
  let url: string;
  const authorizations: (string | undefined)[] = [];

  before(async () => {
    app = await buildApp({
      scorer: new FakeScorer(),
      access: { allowedHosts: ['127.0.0.1'], apiKey: KEY },
    });
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/api/')) authorizations.push(request.headers.authorization);
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    userDataDir = await mkdtemp(path.join(os.tmpdir(), 'cxr-chromium-key-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
  });

  after(async () => {
    await context?.close();
    await app?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  test('asks for the key once, then every API call carries it and the model loads', async () => {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('#api-key-dialog[open]');
    assert.match((await page.textContent('#api-key-dialog')) ?? '', /protected by an API key/);
    await page.fill('#api-key-input', 'wrong-key-wrong-key');
    await page.click('#api-key-dialog button[type=submit]');
    // A wrong key is refused and asked for again.
    await page.waitForFunction(() =>
      document.querySelector('#api-key-dialog[open]')?.textContent?.includes('That key was not accepted'),
    );
    await page.fill('#api-key-input', KEY);
    await page.click('#api-key-dialog button[type=submit]');
    await page.waitForFunction(() =>
      document.querySelector('#model-badge')?.textContent?.includes('serve-test-model'),
    );
    assert.equal(await page.$('#api-key-dialog'), null, 'the dialog is gone');
    assert.equal(authorizations.at(-1), `Bearer ${KEY}`);
    // The key lasts for the tab: a reload asks nothing.
    authorizations.length = 0;
    await page.reload();
    await page.waitForFunction(() =>
      document.querySelector('#model-badge')?.textContent?.includes('serve-test-model'),
    );
    assert.deepEqual(authorizations, [`Bearer ${KEY}`]);
    await page.close();
  });

  test('a #key= link signs the tab in and leaves no key in the address bar', async () => {
    const page = await context.newPage();
    await page.goto(`${url}/#key=${encodeURIComponent(KEY)}`);
    await page.waitForFunction(() =>
      document.querySelector('#model-badge')?.textContent?.includes('serve-test-model'),
    );
    assert.equal(page.url(), `${url}/#/`);
    assert.equal(await page.$('#api-key-dialog'), null);
    await page.close();
  });
});
