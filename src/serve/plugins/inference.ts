/**
 * The inference plugin: owns the scorer (the loaded model) and the bounded queue in front of it, and exposes
 * them to routes as `app.scorer` and `app.inference`. On close it lets queued work finish, then frees the model.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerLimits } from '../limits.ts';
import { InferenceQueue } from '../queue.ts';
import type { Scorer } from '../scorer.ts';

declare module 'fastify' {
  interface FastifyInstance {
    scorer: Scorer;
    inference: InferenceQueue;
    limits: ServerLimits;
  }
}

export interface InferencePluginOptions {
  scorer: Scorer;
  limits: ServerLimits;
  /** Dispose the scorer when the app closes (false when the caller owns it, e.g. in tests). */
  disposeOnClose?: boolean;
}

async function inferencePlugin(app: FastifyInstance, options: InferencePluginOptions): Promise<void> {
  const { scorer, limits } = options;
  const queue = new InferenceQueue({
    scorer,
    capacity: limits.queueCapacity,
    maxQueuedBytes: limits.maxQueuedBytes,
    maxBatch: limits.maxBatch,
    concurrency: limits.concurrency,
    timeoutMs: limits.inferenceTimeoutMs,
    maxPixels: limits.maxPixels,
  });
  app.decorate('scorer', scorer);
  app.decorate('inference', queue);
  app.decorate('limits', limits);
  app.addHook('onClose', async () => {
    await queue.drain();
    if (options.disposeOnClose !== false) scorer.dispose();
  });
}

export default fp(inferencePlugin, { name: 'pneumoscope-inference', fastify: '5.x' });
