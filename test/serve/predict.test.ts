/**
 * Scoring over HTTP with the real Predictor and a tiny random model, through `app.inject` (no port): both predict
 * routes, every upload form, and every kind of bad request.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { Predictor } from '../../src/predict/predictor.ts';
import { buildApp } from '../../src/serve/app.ts';
import type { ServerLimits } from '../../src/serve/limits.ts';
import type { BatchResponse, PredictResponse } from '../../src/serve/schemas.ts';
import { createTestModel, type TestModel } from './helpers.ts';
import { assertError, multipart, pngClaiming } from './http-helpers.ts';

const SAMPLE_JPEG = path.resolve('samples/PNEUMONIA/person1008_virus_1691.jpeg');
const SAMPLE_DICOM = path.resolve('samples/NORMAL/IM-0129-0001.dcm');
/** A DICOM fixture whose patient attributes are fake but recognisable (see test/fixtures/ATTRIBUTION.md). */
const IDENTIFIED_DICOM = path.resolve('test/fixtures/dicom/explicit-8bit.dcm');
const FAKE_IDENTIFIERS = ['DOE^JANE', 'SECRET', '19010203'];

describe('scoring over HTTP', () => {
  let model: TestModel;
  let scorer: Predictor;
  let app: FastifyInstance;
  let logLines: string[];
  let jpeg: Buffer;

  /** An app on the shared scorer, with optional limits; closed by the caller. */
  async function appWith(limits: Partial<ServerLimits>): Promise<FastifyInstance> {
    return buildApp({ scorer, limits, web: false, disposeScorerOnClose: false });
  }

  before(async () => {
    model = await createTestModel();
    scorer = await Predictor.load(model.dir, { backend: 'wasm' });
    logLines = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    app = await buildApp({
      scorer,
      web: false,
      logger: { level: 'debug', stream },
      disposeScorerOnClose: false,
    });
    jpeg = await readFile(SAMPLE_JPEG);
  });

  after(async () => {
    await app?.close();
    scorer?.dispose();
    await model?.cleanup();
  });

  describe('POST /api/v1/predict', () => {
    test('scores a raw JPEG body', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg,
      });
      assert.equal(response.statusCode, 200);
      const body = response.json() as PredictResponse;
      assert.ok(body.probability >= 0 && body.probability <= 1);
      assert.equal(body.label, body.probability >= body.threshold ? 'PNEUMONIA' : 'NORMAL');
      assert.equal(body.threshold, model.metadata.threshold);
      assert.deepEqual(body.model, { name: 'serve-test-model', version: '0.0.1-test' });
      assert.equal(body.heatmap, undefined);
      assert.equal(body.preview, undefined);
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(body.status, 'scored');
      assert.equal(body.flagged, body.probability >= body.threshold);
    });

    test('an image the input gate refuses → 200 rejected, with a reason and no label', async () => {
      const onePixel = await sharp(Buffer.from([128]), { raw: { width: 1, height: 1, channels: 1 } })
        .png()
        .toBuffer();
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'image/png' },
        payload: onePixel,
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as PredictResponse;
      assert.equal(body.status, 'rejected');
      assert.match(body.reason ?? '', /too small to be a chest X-ray/);
      assert.equal(body.label, null);
      assert.equal(body.flagged, null);
    });

    test('multipart field "image" gives the same score as the raw body', async () => {
      const raw = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg,
      });
      const form = multipart([{ field: 'image', filename: 'x.jpeg', type: 'image/jpeg', data: jpeg }]);
      const response = await app.inject({ method: 'POST', url: '/api/v1/predict', ...form });
      assert.equal(response.statusCode, 200);
      assert.equal(
        (response.json() as PredictResponse).probability,
        (raw.json() as PredictResponse).probability,
      );
    });

    test('?heatmap=1 adds a Grad-CAM PNG with the image aspect ratio; ?preview=1 a grey JPEG', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict?heatmap=1&preview=1',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg,
      });
      assert.equal(response.statusCode, 200);
      const body = response.json() as PredictResponse;
      assert.match(body.heatmap ?? '', /^data:image\/png;base64,/);
      assert.match(body.preview ?? '', /^data:image\/jpeg;base64,/);
      const original = await sharp(jpeg).metadata();
      for (const url of [body.heatmap!, body.preview!]) {
        const meta = await sharp(Buffer.from(url.split(',')[1], 'base64')).metadata();
        assert.ok(Math.abs(meta.width! / meta.height! - original.width! / original.height!) < 0.01);
      }
    });

    test('scores a PNG and a DICOM', async () => {
      const png = await sharp(jpeg).png().toBuffer();
      const dicom = await readFile(SAMPLE_DICOM);
      for (const [type, payload] of [
        ['image/png', png],
        ['application/dicom', dicom],
      ] as const) {
        const response = await app.inject({
          method: 'POST',
          url: '/api/v1/predict?preview=1',
          headers: { 'content-type': type },
          payload,
        });
        assert.equal(response.statusCode, 200, `${type}: ${response.body}`);
        assert.match((response.json() as PredictResponse).preview ?? '', /^data:image\/jpeg;base64,/);
      }
    });

    test('DICOM patient identifiers appear in neither the answer nor the log', async () => {
      const dicom = await readFile(IDENTIFIED_DICOM);
      assert.ok(dicom.includes('DOE^JANE'), 'the fixture carries the fake identifiers');
      const form = multipart([
        { field: 'image', filename: 'scan.dcm', type: 'application/dicom', data: dicom },
      ]);
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict?heatmap=1&preview=1',
        ...form,
      });
      assert.equal(response.statusCode, 200, response.body);
      const logged = logLines.join('');
      assert.ok(logged.includes('/api/v1/predict'), 'requests are logged');
      for (const id of FAKE_IDENTIFIERS) {
        assert.ok(!response.body.includes(id), `answer contains ${id}`);
        assert.ok(!logged.includes(id), `log contains ${id}`);
      }
    });

    test('wrong multipart field → 400 wrong-field', async () => {
      const form = multipart([{ field: 'file', filename: 'x.jpeg', type: 'image/jpeg', data: jpeg }]);
      assertError(await app.inject({ method: 'POST', url: '/api/v1/predict', ...form }), 400, 'wrong-field');
    });

    test('a malformed multipart body → 400 bad-request, not a server error', async () => {
      const noBoundary = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'multipart/form-data' },
        payload: 'hello',
      });
      assertError(noBoundary, 400, 'bad-request');
      const form = multipart([{ field: 'image', filename: 'x.jpeg', type: 'image/jpeg', data: jpeg }]);
      const cut = form.payload.subarray(0, 4000);
      const truncated = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: form.headers,
        payload: cut,
      });
      assert.ok(truncated.statusCode >= 400 && truncated.statusCode < 500, truncated.body);
    });

    test('multipart without a file → 400 missing-image', async () => {
      const form = multipart([{ field: 'note', data: 'hello' }]);
      assertError(
        await app.inject({ method: 'POST', url: '/api/v1/predict', ...form }),
        400,
        'missing-image',
      );
    });

    test('empty body or empty file → 400 empty-body', async () => {
      assertError(
        await app.inject({
          method: 'POST',
          url: '/api/v1/predict',
          headers: { 'content-type': 'image/jpeg' },
        }),
        400,
        'empty-body',
      );
      const form = multipart([
        { field: 'image', filename: 'x.jpeg', type: 'image/jpeg', data: Buffer.alloc(0) },
      ]);
      assertError(await app.inject({ method: 'POST', url: '/api/v1/predict', ...form }), 400, 'empty-body');
    });

    test('non-image bytes or content types → 415 unsupported-media-type', async () => {
      const cases = [
        { headers: { 'content-type': 'image/jpeg' }, payload: 'this is not a JPEG' },
        { headers: { 'content-type': 'application/json' }, payload: '{"image":"x"}' },
        { headers: { 'content-type': 'text/plain' }, payload: 'hello' },
        { headers: { 'content-type': 'application/x-unknown' }, payload: 'hello' },
        { headers: {}, payload: undefined },
      ];
      for (const options of cases) {
        const response = await app.inject({ method: 'POST', url: '/api/v1/predict', ...options });
        assertError(response, 415, 'unsupported-media-type');
      }
    });

    test('truncated JPEG → 422 corrupt-image', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      });
      assertError(response, 422, 'corrupt-image');
    });

    test('huge dimensions → 413 image-too-large, before any pixel is decoded', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict',
        headers: { 'content-type': 'image/png' },
        payload: pngClaiming(60_000),
      });
      assertError(response, 413, 'image-too-large');
    });

    test('an invalid query flag → 400 bad-request', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/predict?heatmap=yes',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg,
      });
      assertError(response, 400, 'bad-request');
      // Once, with the values that work (Ajv alone says "must be equal to constant" once per literal).
      assert.equal(
        response.json().error.message,
        'query parameter "heatmap" must be one of: 1, 0, true, false',
      );
    });
  });

  describe('upload limits', () => {
    test('raw body or multipart file over the byte limit → 413 payload-too-large', async () => {
      const small = await appWith({ maxUploadBytes: 50_000 });
      try {
        const raw = await small.inject({
          method: 'POST',
          url: '/api/v1/predict',
          headers: { 'content-type': 'image/jpeg' },
          payload: jpeg,
        });
        assertError(raw, 413, 'payload-too-large');
        const form = multipart([{ field: 'image', filename: 'x.jpeg', type: 'image/jpeg', data: jpeg }]);
        assertError(
          await small.inject({ method: 'POST', url: '/api/v1/predict', ...form }),
          413,
          'payload-too-large',
        );
        const batch = multipart([
          { field: 'images', filename: 'a.jpeg', type: 'image/jpeg', data: jpeg.subarray(0, 30_000) },
          { field: 'images', filename: 'b.jpeg', type: 'image/jpeg', data: jpeg.subarray(0, 30_000) },
        ]);
        const total = await small.inject({ method: 'POST', url: '/api/v1/predict/batch', ...batch });
        assertError(total, 413, 'payload-too-large');
      } finally {
        await small.close();
      }
    });

    test('a pixel limit below the image size → 413 image-too-large', async () => {
      const strict = await appWith({ maxPixels: 100_000 });
      try {
        const response = await strict.inject({
          method: 'POST',
          url: '/api/v1/predict',
          headers: { 'content-type': 'image/jpeg' },
          payload: jpeg,
        });
        assertError(response, 413, 'image-too-large');
      } finally {
        await strict.close();
      }
    });
  });

  describe('POST /api/v1/predict/batch', () => {
    test('scores several files in worklist order, a bad file first with its own error and reason', async () => {
      const normal = await readFile(path.resolve('samples/NORMAL/IM-0117-0001.jpeg'));
      const form = multipart([
        { field: 'images', filename: 'notes.jpeg', type: 'image/jpeg', data: 'not an image' },
        { field: 'images', filename: 'a.jpeg', type: 'image/jpeg', data: jpeg },
        { field: 'images', filename: 'b.jpeg', type: 'image/jpeg', data: normal },
        {
          field: 'image',
          filename: '../../c.dcm',
          type: 'application/dicom',
          data: await readFile(SAMPLE_DICOM),
        },
      ]);
      const response = await app.inject({ method: 'POST', url: '/api/v1/predict/batch?preview=1', ...form });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as BatchResponse;
      assert.equal(body.threshold, model.metadata.threshold);
      assert.deepEqual(
        body.results.map((r) => r.rank),
        [1, 2, 3, 4],
      );
      const scored = body.results.slice(1);
      assert.deepEqual(scored.map((r) => r.name).sort(), ['a.jpeg', 'b.jpeg', 'c.dcm']);
      for (let i = 1; i < scored.length; i++) assert.ok(scored[i - 1].probability! >= scored[i].probability!);
      for (const r of scored) {
        assert.match(r.preview ?? '', /^data:image\/jpeg;base64,/);
        assert.equal(r.status, 'scored');
        assert.equal(r.flagged, r.probability! >= body.threshold);
      }
      // A file that needs a person is read first.
      const failed = body.results[0];
      assert.equal(failed.name, 'notes.jpeg');
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'unsupported-media-type');
      assert.equal(failed.reason, failed.error?.message);
      assert.equal(failed.probability, undefined);
    });

    test('wrong field, no files, raw body, too many files', async () => {
      const wrong = multipart([{ field: 'file', filename: 'x.jpeg', data: jpeg }]);
      assertError(
        await app.inject({ method: 'POST', url: '/api/v1/predict/batch', ...wrong }),
        400,
        'wrong-field',
      );
      const none = multipart([{ field: 'note', data: 'x' }]);
      assertError(
        await app.inject({ method: 'POST', url: '/api/v1/predict/batch', ...none }),
        400,
        'missing-image',
      );
      const raw = await app.inject({
        method: 'POST',
        url: '/api/v1/predict/batch',
        headers: { 'content-type': 'image/jpeg' },
        payload: jpeg,
      });
      assertError(raw, 415, 'unsupported-media-type');
      const few = await appWith({ maxBatchFiles: 2 });
      try {
        const three = multipart(
          ['a', 'b', 'c'].map((name) => ({ field: 'images', filename: `${name}.jpeg`, data: jpeg })),
        );
        const tooMany = await few.inject({ method: 'POST', url: '/api/v1/predict/batch', ...three });
        assertError(tooMany, 413, 'too-many-files');
        assert.match(tooMany.json().error.message, /^at most 2 files per request/);
      } finally {
        await few.close();
      }
    });
  });
});
