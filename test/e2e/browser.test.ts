/**
 * End-to-end: the real server (real Predictor, a tiny random model) on an ephemeral loopback port, driven by
 * Debian's Chromium through playwright-core. Uploads sample X-rays, checks the worklist (needs-a-person rows
 * first, Flagged / Not flagged, CSV export, no duplicates), the detail view with its Grad-CAM heat, keyboard
 * use and the model page, and saves screenshots under test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Predictor } from '../../src/predict/predictor.ts';
import { buildApp } from '../../src/serve/app.ts';
import { HAS_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { createTestModel, type TestModel } from '../serve/helpers.ts';

const ARTIFACTS = path.resolve('test-artifacts/e2e');
const SAMPLES = path.resolve('samples');
const PROBABILITY_TEXT = /^(\d{1,2}\.\d%|>99%|<1%)$/;

describe('browser app in headless Chromium', { skip: !HAS_CHROMIUM && 'chromium is not installed' }, () => {
  let model: TestModel;
  let app: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let url: string;

  before(async () => {
    model = await createTestModel();
    const scorer = await Predictor.load(model.dir, { backend: 'wasm' });
    app = await buildApp({ scorer });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 820 }, acceptDownloads: true });
    page = await context.newPage();
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await model?.cleanup();
  });

  test('the app loads offline, with the not-a-diagnosis notice and the threshold in plain words', async () => {
    const failedRequests: string[] = [];
    page.on('requestfailed', (request) => failedRequests.push(request.url()));
    await page.goto(`${url}/`);
    assert.match((await page.textContent('.notice')) ?? '', /Not a medical device — not a diagnosis/);
    await page.waitForFunction(() =>
      document.querySelector('#threshold-line')?.textContent?.includes('50.0%'),
    );
    assert.equal(
      await page.textContent('#threshold-line'),
      'Flagged at ≥ 50.0%. On validation images this caught 90% of pneumonia.',
    );
    assert.match((await page.textContent('#model-badge')) ?? '', /serve-test-model 0\.0\.1-test/);
    assert.deepEqual(failedRequests, []);
  });

  test('a file that cannot be read comes first, under "Needs a person"; scored rows by probability', async () => {
    const samples = [
      'NORMAL/IM-0117-0001.jpeg',
      'PNEUMONIA/person1008_virus_1691.jpeg',
      'PNEUMONIA/person1022_bacteria_2953.jpeg',
    ];
    const files = [
      ...(await Promise.all(
        samples.map(async (sample) => ({
          name: path.basename(sample),
          mimeType: 'image/jpeg',
          buffer: await readFile(path.join(SAMPLES, sample)),
        })),
      )),
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') },
    ];
    await page.setInputFiles('#file-input', files);
    await page.waitForFunction(
      () => document.querySelectorAll('.row[data-status="scored"]').length === 3,
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForSelector('.row[data-status="failed"]');
    const rows = await page.$$eval('#worklist-body .row', (trs) =>
      trs.map((tr) => ({
        status: tr.getAttribute('data-status'),
        probability: tr.getAttribute('data-probability'),
        shown: tr.querySelector('.probability-value')?.textContent ?? '',
        flag: tr.querySelector('.flag .chip')?.textContent ?? '',
        thumbnail: tr.querySelector('.thumb img')?.getAttribute('src')?.slice(0, 22) ?? '',
      })),
    );
    assert.equal(rows[0].status, 'failed', 'the unreadable file is first');
    assert.equal(rows[0].flag, 'Not read');
    assert.match((await page.textContent('.section-row')) ?? '', /Needs a person/);
    assert.match(
      (await page.textContent('.row[data-status="failed"]')) ?? '',
      /not a supported image format/,
    );
    const scored = rows.slice(1);
    for (const row of scored) {
      assert.match(row.shown, PROBABILITY_TEXT);
      assert.equal(row.flag, Number(row.probability) >= 0.5 ? 'Flagged' : 'Not flagged');
      assert.equal(row.thumbnail, 'data:image/jpeg;base64');
    }
    const values = scored.map((row) => Number(row.probability));
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
      'scored rows are sorted by probability',
    );
    assert.match(
      (await page.textContent('#summary')) ?? '',
      /4 images · 3 scored · \d flagged · 1 could not be read/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'worklist.png'), fullPage: true });
  });

  test('the CSV export has the CLI columns, in worklist order', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
    const csv = await readFile((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trim().split('\n');
    assert.equal(header, 'path,status,probability,label,flag,rank,threshold,model,reason,error');
    assert.match(
      lines[0],
      /^notes\.txt,failed,,,,1,0\.5,serve-test-model 0\.0\.1-test,"?not a supported.*,"unsupported-media-type: not a supported/,
    );
    assert.match(lines[1], /^[\w.-]+\.jpeg,scored,0\.\d{6},(NORMAL|PNEUMONIA),(Flagged|Not flagged),2,0\.5,/);
  });

  test('Enter on a row opens the detail view with the Grad-CAM heat; keys and Esc work', async () => {
    await page.focus('#worklist-body .row[data-status="scored"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog#detail[open]');
    await page.waitForSelector('.stage-overlay', { state: 'visible', timeout: 60_000 });
    assert.match((await page.textContent('.facts-probability')) ?? '', PROBABILITY_TEXT);
    assert.match((await page.textContent('.facts')) ?? '', /(At or above|Below) the threshold of 50\.0%/);
    assert.match((await page.textContent('.colour-bar')) ?? '', /scaled per image/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'detail.png') });

    await page.fill('#overlay-opacity', '30');
    const opacity = Number(await page.$eval('.stage-overlay', (el) => (el as HTMLElement).style.opacity));
    const flagged = (await page.textContent('.facts-verdict .chip')) === 'Flagged';
    assert.ok(Math.abs(opacity - (flagged ? 0.3 : 0.12)) < 1e-9, `opacity ${opacity}, faded below threshold`);
    await page.focus('.detail-panel');
    await page.keyboard.press('h');
    assert.equal(await page.isVisible('.stage-overlay'), false, 'H hides the heat');
    await page.keyboard.press('h');
    assert.equal(await page.isVisible('.stage-overlay'), true);
    await page.keyboard.press('+');
    assert.match(
      (await page.$eval('.stage-frame', (el) => (el as HTMLElement).style.transform)) ?? '',
      /scale\(1\.25\)/,
    );
    await page.keyboard.press('0');

    assert.match((await page.textContent('.detail-position')) ?? '', /^2 of 4$/);
    await page.keyboard.press('ArrowRight');
    assert.match((await page.textContent('.detail-position')) ?? '', /^3 of 4$/);
    await page.keyboard.press('ArrowLeft');
    assert.match((await page.textContent('.detail-position')) ?? '', /^2 of 4$/);

    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog#detail:not([open])', { state: 'attached' });
    const focused = await page.evaluate(() => document.activeElement?.classList.contains('row'));
    assert.equal(focused, true, 'focus returns to the row');
    await page.keyboard.press('ArrowDown');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-status')),
      'scored',
      '↓ moves to the next row',
    );
  });

  test('the model page shows the operating point, metrics and the model card as text', async () => {
    await page.click('.topnav a[data-route="model"]');
    await page.waitForSelector('#page-model .markdown');
    assert.equal(await page.textContent('#page-model .markdown h2'), 'Test model');
    const metrics = (await page.textContent('#page-model .metrics-view')) ?? '';
    // The model's old bootstrap intervals are replaced by Wilson intervals from its confusion counts (9 of 10).
    assert.match(metrics, /Sensitivity.*90\.0%\s*59\.6%–98\.2%/);
    assert.match(metrics, /ROC AUC.*0\.910/);
    const performance = (await page.textContent('#page-model .evaluations-view')) ?? '';
    assert.match(performance, /another hospital's images is lower/);
    assert.match(performance, /Validation: random patient split.*20 \(10 normal, 10 pneumonia\)/);
    assert.match((await page.textContent('#page-model')) ?? '', /temperature scaling \(T = 1\.500,/);
    // The card's <script> line is shown as text, never turned into an element.
    assert.equal(await page.$$eval('#page-model script', (nodes) => nodes.length), 0);
    assert.match((await page.textContent('#page-model .markdown')) ?? '', /<script>alert\(1\)<\/script>/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'model.png'), fullPage: true });
    await page.click('.topnav a[data-route="worklist"]');
  });

  test('the samples, DICOM included, load once from the keyboard; pressing again adds nothing', async () => {
    await page.click('#clear-button');
    assert.equal(await page.$$eval('#worklist-body .row', (rows) => rows.length), 0);
    await page.focus('#samples-button');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'samples-button', 'focus stays');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelectorAll('.row[data-status="scored"]').length === 4,
      undefined,
      { timeout: 60_000 },
    );
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      /already in the list/.test(document.querySelector('#summary')?.textContent ?? ''),
    );
    assert.equal(await page.$$eval('#worklist-body .row', (rows) => rows.length), 4, 'no duplicates');
    const dicomRow = page.locator('.row', { hasText: 'IM-0129-0001.dcm' });
    assert.match(
      (await dicomRow.locator('.thumb img').getAttribute('src')) ?? '',
      /^data:image\/jpeg;base64,/,
    );
    // The viewer decodes DICOM in the browser (full resolution, not the server's preview).
    await dicomRow.click();
    await page.waitForFunction(
      () => (document.querySelector('.stage-image') as HTMLCanvasElement)?.width > 0,
    );
    await page.keyboard.press('Escape');
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
