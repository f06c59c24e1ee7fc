/**
 * The OpenAPI document (`/openapi.json`), generated from the route schemas, and browsable docs at `/docs`
 * (Swagger UI, served from node_modules: no CDN, works offline). Register before the routes so every route's
 * schema is collected.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { formatBytes } from '../uploads.ts';

type OpenApiDocument = Record<string, unknown> & {
  paths?: Record<string, Record<string, Record<string, unknown>>>;
};

const binary = { type: 'string', format: 'binary' };

/** Upload bodies are read by hand (multipart or raw), not by a validated schema, so describe them here. */
function describeUploads(document: OpenApiDocument, maxUploadBytes: number): OpenApiDocument {
  const limit = `At most ${formatBytes(maxUploadBytes)} per request.`;
  const single = document.paths?.['/api/v1/predict']?.post;
  if (single) {
    single.requestBody = {
      required: true,
      description: `One chest X-ray (JPEG, PNG, WebP, TIFF or DICOM). ${limit}`,
      content: {
        'multipart/form-data': {
          schema: { type: 'object', required: ['image'], properties: { image: binary } },
        },
        'image/jpeg': { schema: binary },
        'image/png': { schema: binary },
        'application/dicom': { schema: binary },
      },
    };
  }
  const batch = document.paths?.['/api/v1/predict/batch']?.post;
  if (batch) {
    batch.requestBody = {
      required: true,
      description: `Several chest X-rays, one part per file. ${limit}`,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['images'],
            properties: { images: { type: 'array', items: binary } },
          },
        },
      },
    };
  }
  return document;
}

/**
 * The docs page's CSP: swagger-ui's own, less what breaks it. `upgrade-insecure-requests` made a browser on
 * another machine (plain http, not loopback) fetch every asset over https, which this server does not speak, so
 * /docs was blank there; swagger-ui sets inline styles (style hashes cannot allow those, 'unsafe-inline' can,
 * and only on this page, which shows no patient data); and nothing may come from other hosts.
 */
export function docsContentSecurityPolicy(header: string): string {
  return header
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive !== '' && directive !== 'upgrade-insecure-requests')
    .map((directive) => {
      const [name] = directive.split(/\s+/);
      if (name === 'style-src') return "style-src 'self' 'unsafe-inline'";
      if (name === 'font-src') return "font-src 'self' data:";
      if (name === 'img-src') return "img-src 'self' data:";
      return directive;
    })
    .join('; ');
}

async function openApiPlugin(
  app: FastifyInstance,
  options: { maxUploadBytes: number; version: string; bearerAuth?: boolean },
) {
  // With an API key, /docs gets an "Authorize" button and sends the key with "Try it out".
  const security = options.bearerAuth
    ? {
        components: { securitySchemes: { apiKey: { type: 'http' as const, scheme: 'bearer' } } },
        security: [{ apiKey: [] }],
      }
    : {};
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Pneumoscope API',
        version: options.version,
        description:
          'Pneumonia triage scores for chest X-rays. Not a medical device: every output is a triage aid for ' +
          'trained readers, never a diagnosis. Errors always answer `{"error":{"code","message"}}`.',
      },
      tags: [
        { name: 'predict', description: 'Score images' },
        { name: 'model', description: 'The loaded model' },
        { name: 'health', description: 'Liveness' },
        { name: 'samples', description: 'Bundled sample images' },
      ],
      ...security,
    },
    transformObject: (documents) =>
      'openapiObject' in documents
        ? (describeUploads(
            documents.openapiObject as OpenApiDocument,
            options.maxUploadBytes,
          ) as typeof documents.openapiObject)
        : documents.swaggerObject,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // No validator badge: it would call an external service.
    uiConfig: { validatorUrl: null, deepLinking: true },
    staticCSP: true,
    transformStaticCSP: docsContentSecurityPolicy,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(openApiPlugin, { name: 'pneumoscope-openapi', fastify: '5.x' });
