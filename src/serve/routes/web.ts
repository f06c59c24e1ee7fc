/**
 * The browser app at `/`: built from src/web (TypeScript + CSS) with esbuild when the server starts, held in
 * memory and served from here. Nothing is fetched from a CDN, so it works offline.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The app's source folder. */
export const WEB_SOURCE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** The built app, ready to serve. */
export interface WebBundle {
  html: string;
  js: string;
  css: string;
  /** Content hash, used as ETag and as a cache-busting query on the asset URLs. */
  hash: string;
}

/** Bundles src/web/main.ts (and the CSS it imports) in memory. Takes well under a second. */
export async function buildWebBundle(sourceDir = WEB_SOURCE_DIR): Promise<WebBundle> {
  const result = await build({
    entryPoints: [`${sourceDir}main.ts`],
    bundle: true,
    write: false,
    outdir: 'web-bundle',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'))?.text ?? '';
  const css = result.outputFiles.find((file) => file.path.endsWith('.css'))?.text ?? '';
  const hash = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  const template = await readFile(`${sourceDir}index.html`, 'utf8');
  const html = template.replaceAll('{{hash}}', hash);
  return { html, js, css, hash };
}

/** Only our own origin; images may be data: URLs (previews, heatmaps) or blob: URLs (local files). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sends one bundle file; answers 304 when the browser already holds this build (ETag = bundle hash). */
function send(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { type: string; body: string; etag: string },
) {
  const etag = `"${options.etag}"`;
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('cache-control', 'no-cache')
    .header('etag', etag);
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  return reply.type(options.type).send(options.body);
}

export default async function webRoutes(
  app: FastifyInstance,
  options: { bundle?: WebBundle },
): Promise<void> {
  const bundle = options.bundle ?? (await buildWebBundle());
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (request, reply) =>
    send(request, reply, { type: 'text/html; charset=utf-8', body: bundle.html, etag: bundle.hash }),
  );
  app.get('/app.js', hide, async (request, reply) =>
    send(request, reply, { type: 'text/javascript; charset=utf-8', body: bundle.js, etag: bundle.hash }),
  );
  app.get('/app.css', hide, async (request, reply) =>
    send(request, reply, { type: 'text/css; charset=utf-8', body: bundle.css, etag: bundle.hash }),
  );
}
