/**
 * `POST /api/v1/predict` (one image) and `POST /api/v1/predict/batch` (several, answered in worklist order).
 * Handlers only read the upload, queue it, and shape the answer: decoding, the model and Grad-CAM all live
 * behind the scorer.
 */
import type { FastifyInstance } from 'fastify';
import { rankResults } from '../../predict/predictor.ts';
import type { PredictResult } from '../../predict/types.ts';
import { ApiError, decodeErrorCode } from '../errors.ts';
import { dataUrl, renderPreview } from '../preview.ts';
import {
  type BatchItem,
  BatchResponseSchema,
  errorResponses,
  type GradCamMap,
  isSet,
  type ModelRef,
  type PredictQuery,
  PredictQuerySchema,
  type PredictResponse,
  PredictResponseSchema,
} from '../schemas.ts';
import { readBatchImages, readSingleImage } from '../uploads.ts';

const ERRORS = errorResponses(400, 408, 413, 415, 422, 500, 503);

function modelRef(app: FastifyInstance): ModelRef {
  return { name: app.scorer.metadata.name, version: app.scorer.metadata.version };
}

/** Optional image fields of an answer: heatmap from the scorer, preview rendered on request. */
async function imageFields(
  app: FastifyInstance,
  result: PredictResult,
  options: { bytes: Uint8Array; preview: boolean },
): Promise<{ heatmap?: string; cam?: GradCamMap; preview?: string }> {
  const fields: { heatmap?: string; cam?: GradCamMap; preview?: string } = {};
  if (result.heatmapPng) fields.heatmap = dataUrl(result.heatmapPng, 'image/png');
  if (result.cam) {
    const { width, height, data } = result.cam;
    fields.cam = { width, height, values: Array.from(data, (v) => Math.round(v * 1e4) / 1e4) };
  }
  if (options.preview)
    fields.preview = await renderPreview(options.bytes, { maxPixels: app.limits.maxPixels });
  return fields;
}

export default async function predictRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Querystring: PredictQuery }>(
    '/api/v1/predict',
    {
      schema: {
        summary: 'Score one chest X-ray',
        description:
          'Send one image as multipart/form-data (field `image`) or as the raw body with an image/* or ' +
          'application/dicom content type. Answers a calibrated pneumonia probability and the label at the ' +
          "model's operating threshold, or `status: rejected` with a reason (and no label) when the input gate " +
          'finds it does not look like a chest X-ray. A triage aid for trained readers, not a diagnosis.',
        tags: ['predict'],
        querystring: PredictQuerySchema,
        response: { 200: PredictResponseSchema, ...ERRORS },
      },
    },
    async (request): Promise<PredictResponse> => {
      const input = await readSingleImage(request, app.limits);
      const [result] = await app.inference.run({ inputs: [input], heatmaps: isSet(request.query.heatmap) });
      if (result.status === 'failed' || result.probability === undefined) {
        const error = result.error ?? { code: 'failed', message: 'no score returned' };
        throw new ApiError(decodeErrorCode(error.code), error.message);
      }
      const threshold = app.scorer.metadata.threshold;
      const scored = result.status === 'scored';
      return {
        status: scored ? 'scored' : 'rejected',
        ...(result.reason ? { reason: result.reason } : {}),
        probability: result.probability,
        label: scored ? (result.label ?? null) : null,
        flagged: scored ? result.probability >= threshold : null,
        threshold,
        model: modelRef(app),
        ...(await imageFields(app, result, { bytes: input.bytes, preview: isSet(request.query.preview) })),
        ...(result.warnings?.length ? { warnings: result.warnings } : {}),
      };
    },
  );

  app.post<{ Querystring: PredictQuery }>(
    '/api/v1/predict/batch',
    {
      schema: {
        summary: 'Score several chest X-rays in one request',
        description:
          'Send the files as multipart/form-data, one part per file in field `images` (or `image`). Results ' +
          'come back in worklist order: files that need a person first (rejected by the input gate, then ' +
          'those that could not be read, each with its reason), then scored ones by probability. One bad ' +
          'file never fails the batch.',
        tags: ['predict'],
        querystring: PredictQuerySchema,
        response: { 200: BatchResponseSchema, ...ERRORS },
      },
    },
    async (request) => {
      const inputs = await readBatchImages(request, { ...app.limits, maxFiles: app.limits.maxBatchFiles });
      const results = await app.inference.run({ inputs, heatmaps: isSet(request.query.heatmap) });
      const bytesByResult = new Map(results.map((result, i) => [result, inputs[i].bytes]));
      const items: BatchItem[] = [];
      // Re-rank: the queue may have scored these files alongside other requests' images.
      for (const result of rankResults(results)) {
        items.push(await batchItem(app, result, bytesByResult.get(result)!, isSet(request.query.preview)));
      }
      return { model: modelRef(app), threshold: app.scorer.metadata.threshold, results: items };
    },
  );
}

async function batchItem(
  app: FastifyInstance,
  result: PredictResult,
  bytes: Uint8Array,
  preview: boolean,
): Promise<BatchItem> {
  const base = {
    name: result.name,
    rank: result.rank,
    ...(result.warnings?.length ? { warnings: result.warnings } : {}),
  };
  if (result.status === 'failed' || result.probability === undefined) {
    const error = result.error ?? { code: 'failed', message: 'no score returned' };
    const code = decodeErrorCode(error.code);
    // Server-side failures keep their details in the log, out of the answer.
    if (code === 'internal') app.log.error({ code: error.code }, `scoring failed: ${error.message}`);
    const message = code === 'internal' ? 'internal error while scoring this file' : error.message;
    return { ...base, status: 'failed', reason: message, error: { code, message } };
  }
  const scored = result.status === 'scored';
  const verdict = {
    status: result.status,
    ...(result.reason ? { reason: result.reason } : {}),
    probability: result.probability,
    // A rejected file is never labelled or flagged.
    label: scored ? (result.label ?? null) : null,
    flagged: scored ? result.probability >= app.scorer.metadata.threshold : null,
  };
  try {
    return { ...base, ...verdict, ...(await imageFields(app, result, { bytes, preview })) };
  } catch {
    // The score stands even if its picture cannot be drawn; one file's preview never fails the batch.
    const warnings = [...(base.warnings ?? []), 'preview unavailable'];
    return { ...base, ...verdict, warnings };
  }
}
