/** `GET /api/v1/model` (what model answers, how to read its numbers) and `GET /healthz`. */
import type { FastifyInstance } from 'fastify';
import { type Health, HealthSchema, type ModelInfo, ModelInfoSchema } from '../schemas.ts';

const startedAt = Date.now();

export default async function modelRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/v1/model',
    {
      schema: {
        summary: 'The loaded model: metadata, threshold, calibration, validation metrics and model card',
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
        calibration: { method: m.calibration.method, temperature: m.calibration.temperature },
        trainingImages: m.data.count,
        ...(m.data.validation ? { validationImages: m.data.validation.count } : {}),
        ...(m.metrics ? { metrics: m.metrics } : {}),
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
