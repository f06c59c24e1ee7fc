/**
 * End-to-end: the real server (real Predictor, a tiny random model) on an ephemeral loopback port, driven by
 * Debian's Chromium through playwright-core. Uploads sample X-rays, checks the worklist, the detail view with its
 * Grad-CAM overlay, keyboard use and the model page, and saves screenshots under test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { Predictor } from '../../src/predict/predictor.ts';
import { buildApp } from '../../src/serve/app.ts';
import { createTestModel, type TestModel } from '../serve/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts/e2e');
const SAMPLES = path.resolve('samples');

describe('browser app in headless Chromium', {
  skip: !existsSync(CHROMIUM) && 'chromium is not installed',
}, () => {
  let model: TestModel;
  let app: FastifyInstance;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let url: string;

  before(async () => {
    model = await createTestModel();
    const scorer = await Predictor.load(model.dir, { backend: 'wasm' });
    app = await buildApp({ scorer });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    userDataDir = await mkdtemp(path.join(os.tmpdir(), 'cxr-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1366, height: 820 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await app?.close();
    await model?.cleanup();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  test('the app loads offline, with the not-a-diagnosis notice and the model threshold', async () => {
    const failedRequests: string[] = [];
    page.on('requestfailed', (request) => failedRequests.push(request.url()));
    await page.goto(`${url}/`);
    assert.match((await page.textContent('.notice')) ?? '', /Not a medical device — not a diagnosis/);
    await page.waitForFunction(() =>
      document.querySelector('#threshold-line')?.textContent?.includes('0.500'),
    );
    assert.match((await page.textContent('#model-badge')) ?? '', /serve-test-model 0\.0\.1-test/);
    assert.deepEqual(failedRequests, []);
  });

  test('uploaded X-rays appear in the worklist, sorted by probability, a bad file last', async () => {
    const samples = [
      'NORMAL/IM-0117-0001.jpeg',
      'PNEUMONIA/person1008_virus_1691.jpeg',
      'PNEUMONIA/person1022_bacteria_2953.jpeg',
    ];
    await page.setInputFiles('#file-input', [
      ...(await Promise.all(
        samples.map(async (sample) => ({
          name: path.basename(sample),
          mimeType: 'image/jpeg',
          buffer: await readFile(path.join(SAMPLES, sample)),
        })),
      )),
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') },
    ]);
    await page.waitForFunction(() => document.querySelectorAll('.row.status-done').length === 3, undefined, {
      timeout: 60_000,
    });
    await page.waitForSelector('.row.status-failed');
    const rows = await page.$$eval('#worklist-body .row', (trs) =>
      trs.map((tr) => ({
        status: tr.className,
        probability: tr.querySelector('.probability-value')?.textContent ?? '',
        label: tr.querySelector('.chip')?.textContent ?? '',
        thumbnail: tr.querySelector('.thumb img')?.getAttribute('src')?.slice(0, 22) ?? '',
      })),
    );
    const scored = rows.filter((row) => row.status.includes('status-done'));
    for (const row of scored) {
      assert.match(row.probability, /^\d{1,3}\.\d%$/);
      assert.match(row.label, /^(NORMAL|PNEUMONIA)$/);
      assert.equal(row.thumbnail, 'data:image/jpeg;base64');
    }
    const values = scored.map((row) => Number.parseFloat(row.probability));
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
      'rows are sorted by probability',
    );
    assert.match(rows[3].status, /status-failed/);
    assert.match((await page.textContent('.row.status-failed')) ?? '', /not a supported image format/);
    assert.match((await page.textContent('#summary')) ?? '', /4 images .* 1 could not be read/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'worklist.png'), fullPage: true });
  });

  test('Enter on a row opens the detail view with the Grad-CAM overlay; Esc closes it', async () => {
    await page.focus('#worklist-body .row.status-done');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog#detail[open]');
    await page.waitForSelector('.stage-overlay', { state: 'visible', timeout: 60_000 });
    assert.match((await page.getAttribute('.stage-overlay', 'src')) ?? '', /^data:image\/png;base64,/);
    assert.match((await page.textContent('.facts-probability')) ?? '', /^\d{1,3}\.\d%$/);
    assert.match((await page.textContent('.facts')) ?? '', /operating threshold of 0\.500/);
    assert.match((await page.textContent('.facts')) ?? '', /temperature scaling \(T = 1\.500,/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'detail.png') });

    await page.fill('#overlay-opacity', '30');
    assert.equal(await page.$eval('.stage-overlay', (img) => (img as HTMLElement).style.opacity), '0.3');
    await page.uncheck('#overlay-toggle');
    assert.equal(await page.isVisible('.stage-overlay'), false);
    await page.check('#overlay-toggle');
    assert.equal(await page.isVisible('.stage-overlay'), true);

    await page.keyboard.press('ArrowRight');
    assert.match((await page.textContent('.detail-position')) ?? '', /^2 of 4$/);
    await page.keyboard.press('ArrowLeft');
    assert.match((await page.textContent('.detail-position')) ?? '', /^1 of 4$/);

    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog#detail:not([open])', { state: 'attached' });
    const focused = await page.evaluate(() => document.activeElement?.classList.contains('row'));
    assert.equal(focused, true, 'focus returns to the row');
  });

  test('the model page shows the threshold, metrics and the model card as text', async () => {
    await page.click('.topnav a[data-route="model"]');
    await page.waitForSelector('#page-model .markdown');
    assert.equal(await page.textContent('#page-model .markdown h2'), 'Test model');
    const metrics = (await page.textContent('#page-model .metrics-view')) ?? '';
    assert.match(metrics, /Sensitivity.*90\.0%\s*70\.0% – 100\.0%/);
    assert.match(metrics, /ROC AUC.*0\.910/);
    // The card's <script> line is shown as text, never turned into an element.
    assert.equal(await page.$$eval('#page-model script', (nodes) => nodes.length), 0);
    assert.match((await page.textContent('#page-model .markdown')) ?? '', /<script>alert\(1\)<\/script>/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'model.png'), fullPage: true });
    await page.click('.topnav a[data-route="worklist"]');
  });

  test('the bundled samples, DICOM included, load with one click and show thumbnails', async () => {
    await page.click('#clear-button');
    assert.equal(await page.$$eval('#worklist-body .row', (rows) => rows.length), 0);
    await page.click('#samples-button');
    await page.waitForFunction(() => document.querySelectorAll('.row.status-done').length === 4, undefined, {
      timeout: 60_000,
    });
    const dicomRow = page.locator('.row', { hasText: 'IM-0129-0001.dcm' });
    assert.match(
      (await dicomRow.locator('.thumb img').getAttribute('src')) ?? '',
      /^data:image\/jpeg;base64,/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'samples.png'), fullPage: true });
  });

  test('the API docs render from local assets', async () => {
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:')) external.push(request.url());
    });
    await page.goto(`${url}/docs`);
    await page.waitForSelector('.swagger-ui .info .title');
    assert.match((await page.textContent('.swagger-ui .info .title')) ?? '', /Pneumoscope API/);
    assert.deepEqual(external, []);
  });
});
