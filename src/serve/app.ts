/**
 * Builds the Fastify app: plugins for inference and OpenAPI, one route module per resource, the browser app,
 * and one error handler that turns every failure into `{"error":{"code","message"}}`. No port is opened here,
 * so tests drive the app with `app.inject`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import { type ApiError, clientError, type ErrorBody, toApiError, validationMessage } from './errors.ts';
import { resolveLimits, type ServerLimits } from './limits.ts';
import accessPlugin, { type AccessOptions } from './plugins/access.ts';
import inferencePlugin from './plugins/inference.ts';
import openApiPlugin from './plugins/openapi.ts';
import modelRoutes from './routes/model.ts';
import predictRoutes from './routes/predict.ts';
import sampleRoutes from './routes/samples.ts';
import webRoutes, { type WebBundle } from './routes/web.ts';
import type { Scorer } from './scorer.ts';
import { RAW_IMAGE_CONTENT_TYPE } from './uploads.ts';

/** The repository's bundled sample images. */
export const DEFAULT_SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

export interface AppOptions {
  scorer: Scorer;
  limits?: Partial<ServerLimits>;
  /** Fastify logger setting: false (tests), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  samplesDir?: string;
  /** Serve the browser app at `/` (default true). */
  web?: boolean;
  /** A pre-built browser bundle (tests reuse one across apps). */
  webBundle?: WebBundle;
  /** Dispose the scorer when the app closes (default true). */
  disposeScorerOnClose?: boolean;
  /** Version shown in the OpenAPI document. */
  version?: string;
  /** Host header check and API key (none by default: `startServer` sets them for a real server). */
  access?: AccessOptions;
}

/** Only what an operator needs; never the body, file names or headers that could identify a patient. */
const requestSerializers = {
  req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: req.url }),
};

function loggerOption(logger: AppOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  return { ...(typeof logger === 'object' ? logger : {}), serializers: requestSerializers };
}

function errorBody(apiError: ApiError): ErrorBody {
  return { error: { code: apiError.code, message: apiError.message } };
}

/** Sends an ApiError as the documented JSON body, with Retry-After for 503s. */
function sendError(reply: FastifyReply, apiError: ApiError) {
  if (apiError.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(apiError.retryAfterSeconds));
  return reply.status(apiError.statusCode).type('application/json; charset=utf-8').send(errorBody(apiError));
}

/**
 * Node's HTTP server reports what it cannot parse (a Content-Length that does not fit the body, a garbled
 * request line, oversized headers) and requests that take too long to arrive on the socket, before Fastify sees
 * a request. Fastify's default answer has another shape; this one writes ours, then closes the connection.
 */
function clientErrorHandler(requestTimeoutMs: number) {
  return function onClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket) {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const apiError = clientError(err, requestTimeoutMs);
    this.log.info({ code: apiError.code, cause: err.code }, apiError.message);
    // An answer that has started cannot be replaced without corrupting it: then only close.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(errorBody(apiError));
      socket.write(
        `HTTP/1.1 ${apiError.statusCode} ${STATUS_CODES[apiError.statusCode]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n' +
          `Cache-Control: no-store\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
          body,
      );
    }
    socket.destroy(err);
  };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const limits = resolveLimits(options.limits);
  const app = Fastify({
    logger: loggerOption(options.logger),
    bodyLimit: limits.maxUploadBytes,
    requestTimeout: limits.requestTimeoutMs,
    // Node 20 enforces requestTimeout only when given to createServer (Fastify sets it afterwards), and checks it
    // every connectionsCheckingInterval (30 s by default): often enough that a slow upload gets its 408 on time.
    http: {
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, limits.requestTimeoutMs / 10)),
    },
    clientErrorHandler: clientErrorHandler(limits.requestTimeoutMs),
    // Malformed URLs are found by the router, before any route's error handler exists.
    frameworkErrors: (err, _request, reply) => sendError(reply, toApiError(err)),
    schemaErrorFormatter: (errors, part) => new Error(validationMessage(errors, part)),
  });

  // No JSON or text bodies are accepted anywhere: drop those parsers so a 50 MB JSON body is refused (415)
  // before it is parsed, and keep only raw images and multipart.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    RAW_IMAGE_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: limits.maxUploadBytes },
    (_req, body, done) => done(null, body),
  );
  await app.register(multipart, {
    limits: {
      fileSize: limits.maxUploadBytes,
      // One more than allowed, so the upload reader sees the extra file and answers with the limit's number.
      files: limits.maxBatchFiles + 1,
      parts: limits.maxBatchFiles + 16,
      fields: 16,
      fieldSize: 64 * 1024,
    },
  });

  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.statusCode >= 500 && apiError.code === 'internal')
      request.log.error({ err }, 'request failed');
    else request.log.info({ code: apiError.code }, apiError.message);
    return sendError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: { code: 'not-found', message: `no route for ${request.method} ${request.url.split('?')[0]}` },
    };
    return reply.status(404).send(body);
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // Answers about patients' images must not linger in caches.
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    // While shutting down, end each keep-alive connection after its answer, or closing waits for it to time out.
    if (closing) reply.header('connection', 'close');
  });

  await app.register(accessPlugin, options.access ?? {});
  await app.register(openApiPlugin, {
    maxUploadBytes: limits.maxUploadBytes,
    version: options.version ?? '0.1.0',
    bearerAuth: options.access?.apiKey !== undefined,
  });
  await app.register(inferencePlugin, {
    scorer: options.scorer,
    limits,
    disposeOnClose: options.disposeScorerOnClose,
  });
  await app.register(predictRoutes);
  await app.register(modelRoutes);
  await app.register(sampleRoutes, { dir: options.samplesDir ?? DEFAULT_SAMPLES_DIR });
  if (options.web !== false) {
    await app.register(webRoutes, { bundle: options.webBundle, modelDir: options.scorer.dir || undefined });
  }
  return app;
}
