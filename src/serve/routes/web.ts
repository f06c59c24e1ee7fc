/**
 * The browser app at `/`: built from src/web (TypeScript + CSS) with esbuild when the server starts, held in
 * memory and served from here. The on-device scorer (TF.js and the model code) is a separate chunk that only
 * a browser scoring on the device loads. For on-device scoring the server also serves, as static files, the
 * model directory (`/model/…`) and TF.js's WebAssembly binaries from node_modules (`/vendor/tfjs-wasm/…`); a
 * service worker (`/sw.js`) keeps all of it so the app keeps working offline. Nothing comes from a CDN.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';

/** The app's source folder. */
export const WEB_SOURCE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** TF.js's WebAssembly binaries, as the wasm backend asks for them. */
const TFJS_WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];
const TFJS_WASM_DIR = path.dirname(
  createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
);

/** The built app, ready to serve. */
export interface WebBundle {
  html: string;
  js: string;
  css: string;
  /** Code-split chunks by file name (`chunk-XXXX.js`), loaded by app.js on demand. */
  chunks: Record<string, string>;
  /** Content hash, used as ETag and as a cache-busting query on the asset URLs. */
  hash: string;
}

/** Bundles src/web/main.ts (and the CSS it imports) in memory. Takes about a second. */
export async function buildWebBundle(sourceDir = WEB_SOURCE_DIR): Promise<WebBundle> {
  const result = await build({
    entryPoints: { app: `${sourceDir}main.ts` },
    bundle: true,
    write: false,
    splitting: true,
    outdir: 'web-bundle',
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  let js = '';
  let css = '';
  const chunks: Record<string, string> = {};
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    if (name === 'app.js') js = file.text;
    else if (name === 'app.css') css = file.text;
    else if (name.endsWith('.js')) chunks[name] = file.text;
  }
  const digest = createHash('sha256').update(js).update(css);
  for (const name of Object.keys(chunks).sort()) digest.update(name).update(chunks[name]);
  const hash = digest.digest('hex').slice(0, 12);
  const template = await readFile(`${sourceDir}index.html`, 'utf8');
  const html = template.replaceAll('{{hash}}', hash);
  return { html, js, css, chunks, hash };
}

/**
 * Only our own origin; images may be data: URLs (previews, heatmaps) or blob: URLs (local files). WebAssembly
 * compilation ('wasm-unsafe-eval') is needed by the on-device scorer and allows no JavaScript eval.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sends one bundle file; answers 304 when the browser already holds this build (ETag = bundle hash). */
function send(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { type: string; body: string | Buffer; etag: string },
) {
  const etag = `"${options.etag}"`;
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('cache-control', 'no-cache')
    .header('etag', etag);
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  return reply.type(options.type).send(options.body);
}

/** The model directory's files a browser needs: the TF.js model, its weight shards and metadata. */
async function modelFiles(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
    weightsManifest?: { paths: string[] }[];
  };
  const weights = (manifest.weightsManifest ?? []).flatMap((group) =>
    group.paths.map((p) => p.replace(/^\.\//, '')),
  );
  return ['model.json', 'metadata.json', ...weights.filter((name) => /^[\w.-]+$/.test(name))];
}

/**
 * The service worker: keeps a copy of the app, the model and the WebAssembly binaries, so a browser that has
 * loaded the app once can score on the device with no network. Every GET is tried on the network first (so
 * a new build or model is picked up at once) and answered from the copy when the network is down. Uploads
 * (POST) never touch it.
 */
export function serviceWorkerSource(options: { version: string; urls: string[] }): string {
  return `// Pneumoscope service worker (generated by cxr serve).
const CACHE = 'pneumoscope-${options.version}';
const PRECACHE = ${JSON.stringify(options.urls)};
// One URL that cannot be fetched (an API that wants a key, say) must not stop the rest from being kept.
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => Promise.allSettled(PRECACHE.map((url) => cache.add(url))))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});
self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/v1/predict')) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && !url.pathname.startsWith('/samples/')) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.open(CACHE).then((cache) =>
          cache.match(request, { ignoreSearch: url.pathname === '/' }).then((hit) => hit || Response.error()),
        ),
      ),
  );
});
`;
}

export interface WebRoutesOptions {
  bundle?: WebBundle;
  /** The loaded model's directory, served under /model/ for on-device scoring; none: on-device is off. */
  modelDir?: string;
}

export default async function webRoutes(app: FastifyInstance, options: WebRoutesOptions): Promise<void> {
  const bundle = options.bundle ?? (await buildWebBundle());
  const hide = { schema: { hide: true } };
  const served = options.modelDir ? await modelFiles(options.modelDir).catch(() => []) : [];
  const modelHash = createHash('sha256')
    .update(options.modelDir ?? '')
    .update(served.join('\n'))
    .digest('hex')
    .slice(0, 12);

  app.get('/', hide, async (request, reply) =>
    send(request, reply, { type: 'text/html; charset=utf-8', body: bundle.html, etag: bundle.hash }),
  );
  app.get('/app.js', hide, async (request, reply) =>
    send(request, reply, { type: 'text/javascript; charset=utf-8', body: bundle.js, etag: bundle.hash }),
  );
  app.get('/app.css', hide, async (request, reply) =>
    send(request, reply, { type: 'text/css; charset=utf-8', body: bundle.css, etag: bundle.hash }),
  );
  app.get<{ Params: { name: string } }>('/:name(^chunk-[A-Z0-9]+\\.js$)', hide, async (request, reply) => {
    const body = bundle.chunks[request.params.name];
    if (body === undefined) throw new ApiError('not-found', `no file ${request.params.name}`);
    return send(request, reply, { type: 'text/javascript; charset=utf-8', body, etag: bundle.hash });
  });

  const precache = [
    '/',
    `/app.js?v=${bundle.hash}`,
    `/app.css?v=${bundle.hash}`,
    ...Object.keys(bundle.chunks).map((name) => `/${name}`),
    '/api/v1/model',
    ...(served.length > 0 ? served.map((name) => `/model/${name}`) : []),
    ...(served.length > 0 ? TFJS_WASM_FILES.slice(0, 2).map((name) => `/vendor/tfjs-wasm/${name}`) : []),
  ];
  const worker = serviceWorkerSource({ version: `${bundle.hash}-${modelHash}`, urls: precache });
  app.get('/sw.js', hide, async (request, reply) =>
    send(request, reply, {
      type: 'text/javascript; charset=utf-8',
      body: worker,
      etag: `${bundle.hash}-${modelHash}`,
    }),
  );

  app.get<{ Params: { file: string } }>('/model/:file', hide, async (request, reply) => {
    const { file } = request.params;
    if (!options.modelDir || !served.includes(file)) {
      throw new ApiError(
        'not-found',
        options.modelDir
          ? `no model file ${file}`
          : 'this server does not offer its model for on-device scoring',
      );
    }
    const body = await readFile(path.join(options.modelDir, file));
    const type = file.endsWith('.json') ? 'application/json; charset=utf-8' : 'application/octet-stream';
    return send(request, reply, { type, body, etag: `${modelHash}-${file}` });
  });

  app.get<{ Params: { file: string } }>('/vendor/tfjs-wasm/:file', hide, async (request, reply) => {
    const { file } = request.params;
    if (!TFJS_WASM_FILES.includes(file)) throw new ApiError('not-found', `no file ${file}`);
    const body = await readFile(path.join(TFJS_WASM_DIR, file));
    return send(request, reply, { type: 'application/wasm', body, etag: `${bundle.hash}-${file}` });
  });
}
