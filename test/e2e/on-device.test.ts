/**
 * End-to-end, with the shipped default model: scoring on the device (`/?on-device=1`) in headless Chromium.
 * The ten full-resolution samples are scored in the browser with no request to /api/v1/predict*, and every
 * probability agrees with the server's for the same file within 0.01; the phone layout shows probability and
 * flag without sideways scrolling; the keyboard alone walks the detail view to the last image with its heat
 * on; the app scores offline once loaded; /docs renders for a browser on "another machine".
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../../src/core/paths.ts';
import { Predictor } from '../../src/predict/predictor.ts';
import { buildApp } from '../../src/serve/app.ts';
import { HAS_CHROMIUM, launchChromium, REMOTE_HOST_ALIAS } from '../helpers/browser.ts';
import { makeNonXrays } from '../helpers/non-xrays.ts';

const ARTIFACTS = path.resolve('test-artifacts/e2e');
const FULLRES = path.resolve('../shared/datasets/fullres_samples');
/** How far the browser's probability may be from the server's for the same file. */
const TOLERANCE = 0.01;

interface Sample {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

async function fullResolutionSamples(): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const folder of ['NORMAL', 'PNEUMONIA']) {
    for (const name of (await readdir(path.join(FULLRES, folder))).sort()) {
      samples.push({
        name,
        mimeType: 'image/jpeg',
        buffer: await readFile(path.join(FULLRES, folder, name)),
      });
    }
  }
  return samples;
}

describe('on-device scoring with the default model', {
  skip:
    (!HAS_CHROMIUM && 'chromium is not installed') ||
    (!existsSync(FULLRES) && 'no ../shared full-resolution samples'),
}, () => {
  let scorer: Predictor;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  let samples: Sample[];
  /** The server's probability for each sample, by file name. */
  const serverProbability = new Map<string, number>();

  before(async () => {
    scorer = await Predictor.load(DEFAULT_MODEL_DIR, { backend: 'wasm' });
    app = await buildApp({ scorer, disposeScorerOnClose: false });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    samples = await fullResolutionSamples();
    const results = await scorer.predict(
      samples.map((s) => ({ name: s.name, bytes: new Uint8Array(s.buffer) })),
    );
    for (const result of results) serverProbability.set(result.name, result.probability!);
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    scorer?.dispose();
  });

  /** Opens the app on the device, uploads the samples, waits for every row to be scored; returns the page. */
  async function scoreOnDevice(context: BrowserContext, predictRequests: string[]): Promise<Page> {
    const page = await context.newPage();
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/v1/predict')) predictRequests.push(request.url());
    });
    await page.goto(`${url}/?on-device=1`);
    assert.equal(await page.isChecked('#device-switch'), true, 'the switch shows on-device mode');
    await page.setInputFiles('#file-input', samples);
    await page.waitForFunction(
      (n) => document.querySelectorAll('.row[data-status="scored"]').length === n,
      samples.length,
      { timeout: 120_000 },
    );
    return page;
  }

  test('/?on-device=1 scores the 10 full-resolution samples in the browser, within 0.01 of the server', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const predictRequests: string[] = [];
    const page = await scoreOnDevice(context, predictRequests);
    const rows = await page.$$eval('#worklist-body .row', (trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-name')!,
        status: tr.getAttribute('data-status'),
        where: tr.getAttribute('data-where'),
        probability: Number(tr.getAttribute('data-probability')),
      })),
    );
    assert.deepEqual(predictRequests, [], 'no image was sent to the server');
    assert.equal(rows.length, samples.length);
    for (const row of rows) {
      const server = serverProbability.get(row.name)!;
      assert.equal(row.status, 'scored');
      assert.equal(row.where, 'device');
      assert.ok(
        Math.abs(row.probability - server) <= TOLERANCE,
        `${row.name}: device ${row.probability.toFixed(4)}, server ${server.toFixed(4)}`,
      );
    }
    assert.match((await page.textContent('.notice')) ?? '', /never leave this machine/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'on-device.png'), fullPage: true });
    await context.close();
  });

  test('the input gate runs on the device too: the same pictures are refused, with the same reasons', async () => {
    const pictures = await makeNonXrays();
    const server = await scorer.predict(pictures.map((p) => ({ name: p.name, bytes: p.bytes })));
    const expected = new Map(server.map((r) => [r.name, r]));
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const predictRequests: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/v1/predict')) predictRequests.push(request.url());
    });
    await page.goto(`${url}/?on-device=1`);
    await page.setInputFiles(
      '#file-input',
      pictures.map((p) => ({
        name: p.name,
        mimeType: p.name.endsWith('.png') ? 'image/png' : 'image/jpeg',
        buffer: Buffer.from(p.bytes),
      })),
    );
    await page.waitForFunction(
      (n) => document.querySelectorAll('.row:not([data-status="pending"])').length === n,
      pictures.length,
      { timeout: 120_000 },
    );
    const rows = await page.$$eval('#worklist-body .row', (trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-name')!,
        status: tr.getAttribute('data-status'),
        text: tr.querySelector('.probability')?.textContent ?? '',
      })),
    );
    assert.deepEqual(predictRequests, []);
    for (const row of rows) {
      const want = expected.get(row.name)!;
      assert.equal(row.status, want.status, `${row.name}: device ${row.status}, server ${want.status}`);
      // The same reason; a learned-check distance may differ in its last digit (resize rounding).
      const words = (text: string) => text.replace(/\d+(\.\d+)?/g, '#');
      if (want.status === 'rejected') assert.equal(words(row.text), words(want.reason ?? ''), row.name);
    }
    assert.ok(
      rows.some((r) => r.status === 'rejected'),
      'the gate refused the made pictures',
    );
    assert.match((await page.textContent('.section-row')) ?? '', /Needs a person/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'on-device-gate.png'), fullPage: true });
    await context.close();
  });

  test('at 390×844 the probability and flag of every row are on screen without horizontal scrolling', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await scoreOnDevice(context, []);
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      tableScroll: [...document.querySelectorAll('.table-scroll')].map(
        (el) => el.scrollWidth - el.clientWidth,
      ),
      cells: [...document.querySelectorAll('#worklist-body .row')].map((tr) => {
        const p = tr.querySelector('.probability-value')!;
        const flag = tr.querySelector('.flag .chip')!;
        const pr = p.getBoundingClientRect();
        const fr = flag.getBoundingClientRect();
        return {
          probability: p.textContent,
          flag: flag.textContent,
          right: Math.max(pr.right, fr.right),
          left: Math.min(pr.left, fr.left),
          visible: pr.width > 0 && fr.width > 0,
        };
      }),
    }));
    assert.ok(
      layout.scrollWidth <= layout.clientWidth,
      `page is ${layout.scrollWidth}px wide in ${layout.clientWidth}px`,
    );
    assert.ok(
      layout.tableScroll.every((overflow) => overflow <= 0),
      'the table does not scroll sideways',
    );
    assert.equal(layout.cells.length, samples.length);
    for (const cell of layout.cells) {
      assert.ok(
        cell.visible && cell.left >= 0 && cell.right <= 390,
        `${cell.probability} ${cell.flag} at ${cell.left}–${cell.right}px`,
      );
      assert.match(cell.flag ?? '', /^(Flagged|Not flagged)$/);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'on-device-390.png'), fullPage: true });
    // The detail view fits too: the file name is readable, not squeezed to nothing.
    await page.locator('#worklist-body .row').first().click();
    await page.waitForSelector('dialog#detail[open]');
    const title = await page.$eval('#detail-title', (el) => el.getBoundingClientRect().width);
    assert.ok(title > 200, `the file name has ${title}px`);
    const overflow = await page.evaluate(() => document.querySelector('dialog#detail')!.scrollWidth - 390);
    assert.ok(overflow <= 0, 'the detail view does not scroll sideways');
    await page.screenshot({ path: path.join(ARTIFACTS, 'on-device-390-detail.png') });
    await page.keyboard.press('Escape');
    // The model page too: sha256 strings and rule text wrap instead of pushing the page sideways.
    await page.goto(`${url}/?on-device=1#/model`);
    await page.waitForSelector('#page-model .card');
    const modelPage = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(modelPage <= 390, `the model page is ${modelPage}px wide`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-390.png'), fullPage: true });
    await context.close();
  });

  test('keyboard only: open a row, → nine times reaches "10 of 10" with the heat on', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await scoreOnDevice(context, []);
    // Tab to the first row, as a keyboard user would.
    for (let i = 0; i < 40; i++) {
      if (await page.evaluate(() => document.activeElement?.classList.contains('row'))) break;
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('row')), true);
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog#detail[open]');
    await page.waitForSelector('.stage-overlay', { state: 'visible', timeout: 30_000 });
    for (let i = 0; i < 9; i++) {
      await page.keyboard.press('ArrowRight');
      // Let the image and the Grad-CAM map of each step arrive (they re-render parts of the dialog).
      await page.waitForTimeout(150);
    }
    assert.equal(await page.textContent('.detail-position'), '10 of 10');
    await page.waitForSelector('.stage-overlay', { state: 'visible', timeout: 30_000 });
    assert.equal(
      await page.evaluate(() => document.getElementById('detail')!.contains(document.activeElement)),
      true,
      'focus stays in the dialog',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'on-device-10-of-10.png') });
    await context.close();
  });

  test('after the first load the app scores on the device with the network off', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${url}/?on-device=1`);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await context.setOffline(true);
    await page.reload();
    const sample = samples[samples.length - 1];
    await page.setInputFiles('#file-input', [sample]);
    await page.waitForSelector('.row[data-status="scored"]', { timeout: 60_000 });
    const probability = Number(await page.getAttribute('.row[data-status="scored"]', 'data-probability'));
    assert.ok(Math.abs(probability - serverProbability.get(sample.name)!) <= TOLERANCE);
    await context.close();
  });

  test('/docs renders for a browser on another machine (no upgrade-insecure-requests)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const port = new URL(url).port;
    // The browser resolves this name to 127.0.0.1 but treats the origin as remote plain http, as it would a
    // server on the network: with upgrade-insecure-requests every asset would be asked for over https.
    const response = await page.goto(`http://${REMOTE_HOST_ALIAS}:${port}/docs`);
    assert.doesNotMatch(String(response?.headers()['content-security-policy']), /upgrade-insecure-requests/);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 30_000 });
    assert.match((await page.textContent('.swagger-ui .info .title')) ?? '', /Pneumoscope API/);
    assert.deepEqual(errors, [], 'no console errors (CSP included)');
    await context.close();
  });
});
