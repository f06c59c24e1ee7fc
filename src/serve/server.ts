/**
 * Running the app for real: load the model, build the app, listen, and shut down gracefully on SIGTERM/SIGINT
 * (stop accepting, let in-flight requests finish, free the model).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { METADATA_JSON } from '../model/io.ts';
import { Predictor } from '../predict/predictor.ts';
import { buildApp } from './app.ts';
import type { ServerLimits } from './limits.ts';
import { defaultAllowedHosts } from './plugins/access.ts';

export interface ServeOptions {
  modelDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  backend?: BackendName;
  /**
   * WASM threads for inference (default: CXR_WASM_THREADS, else 1: a server shares its machine, and a thread pool
   * waits for its slowest thread, so one core per process keeps the latency steady; docs/benchmarks.md).
   */
  threads?: number;
  limits?: Partial<ServerLimits>;
  logger?: FastifyServerOptions['logger'];
  version?: string;
  /** Host header values accepted (`*`: any). Default: the bound address and the loopback names. */
  allowedHosts?: string[];
  /** When set, `/api/` requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Stops accepting connections, waits for in-flight requests, frees the model. */
  close(): Promise<void>;
}

/** A usable error when the model directory is missing, saying how to get one. */
export function missingModelMessage(modelDir: string): string {
  const relative = path.relative(process.cwd(), modelDir);
  const shown = relative && !relative.startsWith('..') ? relative : modelDir;
  return (
    `no model at ${shown} (no ${METADATA_JSON} there). Pass --model DIR with a trained model directory, ` +
    'train one with `cxr train` (see `cxr train --help`), or restore the shipped one with ' +
    '`git checkout -- models/default`.'
  );
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if (!existsSync(path.join(options.modelDir, METADATA_JSON)))
    throw new Error(missingModelMessage(options.modelDir));
  // The engine's thread count is fixed by its first initialisation, so set it before the predictor loads.
  await initEngine({ backend: options.backend, threads: options.threads, defaultThreads: 1 });
  const scorer = await Predictor.load(options.modelDir, { backend: options.backend });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      scorer,
      limits: options.limits,
      logger: options.logger,
      version: options.version,
      access: {
        allowedHosts: options.allowedHosts ?? defaultAllowedHosts(options.host),
        apiKey: options.apiKey,
      },
    });
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    scorer.dispose();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}

/**
 * Closes the server on the first SIGTERM or SIGINT; a second signal exits at once. Returns a function that
 * removes the handlers.
 */
export function closeOnSignals(server: RunningServer, onClosed: () => void = () => {}): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      process.exit(130);
    }
    closing = true;
    server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close().then(onClosed, (err) => {
      server.app.log.error({ err }, 'error during shutdown');
      process.exitCode = 1;
      onClosed();
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
