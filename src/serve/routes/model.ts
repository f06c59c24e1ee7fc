/** `GET /api/v1/model` (what model answers, how to read its numbers) and `GET /healthz`. */
import type { FastifyInstance } from 'fastify';
import { LOCAL_CHECK_WARNING } from '../../model/card-performance.ts';
import { modelEvaluations } from '../../model/evaluations.ts';
import { describeCalibration } from '../../model/metadata.ts';
import { type Health, HealthSchema, type ModelInfo, ModelInfoSchema } from '../schemas.ts';

const startedAt = Date.now();

export default async function modelRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/v1/model',
    {
      schema: {
        summary:
          'The loaded model: metadata, threshold, calibration, every evaluation with intervals, and model card',
        tags: ['model'],
        response: { 200: ModelInfoSchema },
      },
    },
    async (): Promise<ModelInfo> => {
      const m = app.scorer.metadata;
      return {
        name: m.name,
        version: m.version,
        architecture: m.architecture,
        createdAt: m.createdAt,
        imageSize: m.preprocessing.imageSize,
        classNames: [...m.classNames],
        positiveClass: m.positiveClass,
        threshold: m.threshold,
        thresholdRule: m.thresholdRule,
        calibration: { ...m.calibration, description: describeCalibration(m.calibration) },
        trainingImages: m.data.count,
        ...(m.data.validation ? { validationImages: m.data.validation.count } : {}),
        ...(m.metrics ? { metrics: m.metrics } : {}),
        // Through JSON so undefined metrics (NaN in memory) reach the client as null, as in metrics.json.
        evaluations: JSON.parse(JSON.stringify(modelEvaluations(m))),
        ...(m.recalibration ? { recalibration: { ...m.recalibration } } : {}),
        localCheckWarning: LOCAL_CHECK_WARNING,
        modelCard: app.scorer.modelCard,
      };
    },
  );

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and queue state',
        tags: ['health'],
        response: { 200: HealthSchema },
      },
    },
    async (): Promise<Health> => ({
      status: 'ok',
      model: { name: app.scorer.metadata.name, version: app.scorer.metadata.version },
      queue: app.inference.stats(),
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    }),
  );
}
