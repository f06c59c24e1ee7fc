/** `cxr serve`: the HTTP API and the browser app on one port. */
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { DEFAULT_LIMITS, type ServerLimits } from '../../serve/limits.ts';
import { API_KEY_ENV, isLoopback, MIN_API_KEY_LENGTH } from '../../serve/plugins/access.ts';
import { closeOnSignals, startServer } from '../../serve/server.ts';
import { integerArg } from '../arguments.ts';
import { CliError } from '../errors.ts';

interface ServeCommandOptions {
  model?: string;
  host: string;
  port: number;
  backend: BackendName;
  threads?: number;
  maxUploadMb: number;
  maxPixels: number;
  queue: number;
  timeout: number;
  logLevel: string;
  allowedHosts?: string[];
  apiKey?: string;
}

function limitsFrom(options: ServeCommandOptions): Partial<ServerLimits> {
  return {
    maxUploadBytes: options.maxUploadMb * 1024 * 1024,
    maxQueuedBytes: Math.max(DEFAULT_LIMITS.maxQueuedBytes, options.maxUploadMb * 1024 * 1024),
    maxPixels: options.maxPixels,
    queueCapacity: options.queue,
    maxBatchFiles: Math.min(DEFAULT_LIMITS.maxBatchFiles, options.queue),
    inferenceTimeoutMs: options.timeout * 1000,
  };
}

/** `--allowed-hosts a,b,c` as a list (`*` alone accepts any Host header). */
function hostList(value: string): string[] {
  const hosts = value
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  if (hosts.length === 0) throw new InvalidArgumentError('give at least one host name, or * for any');
  return hosts;
}

/** The key from --api-key or $CXR_API_KEY, checked for length. */
function apiKeyFrom(options: ServeCommandOptions): string | undefined {
  const key = options.apiKey ?? (process.env[API_KEY_ENV] || undefined);
  if (key !== undefined && key.length < MIN_API_KEY_LENGTH) {
    throw new CliError(
      `the API key must be at least ${MIN_API_KEY_LENGTH} characters long (make one with: openssl rand -hex 32)`,
    );
  }
  return key;
}

/** What the operator must know about who can reach the server. */
function accessNotice(host: string, apiKey: string | undefined, url: string): string {
  if (apiKey) {
    return (
      `  API key required for ${url}/api/ (Authorization: Bearer <key>); the web app asks for it once per tab.\n` +
      (isLoopback(host)
        ? ''
        : '  Put TLS in front of it (a reverse proxy): the key and the images travel in clear.\n')
    );
  }
  if (isLoopback(host)) return '';
  return (
    `  WARNING: serving on ${host} without an API key: anyone who can reach this port can upload images and\n` +
    `  read their scores. Set ${API_KEY_ENV} (or --api-key), and put TLS in front of it (see the README, "Deploying").\n`
  );
}

async function serve(options: ServeCommandOptions): Promise<void> {
  if (options.port > 65535) throw new CliError('--port must be at most 65535');
  const apiKey = apiKeyFrom(options);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      modelDir: options.model ? path.resolve(options.model) : DEFAULT_MODEL_DIR,
      host: options.host,
      port: options.port,
      backend: options.backend,
      threads: options.threads,
      limits: limitsFrom(options),
      logger: options.logLevel === 'silent' ? false : { level: options.logLevel },
      version: process.env.npm_package_version,
      allowedHosts: options.allowedHosts,
      apiKey,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `port ${options.port} on ${options.host} is already in use; pick another with --port`,
      );
    }
    throw new CliError(message);
  }
  const { metadata } = server.app.scorer;
  process.stderr.write(
    `Pneumoscope is serving model ${metadata.name} ${metadata.version} at ${server.url}/\n` +
      `  API docs: ${server.url}/docs   OpenAPI: ${server.url}/openapi.json\n` +
      accessNotice(options.host, apiKey, server.url) +
      '  Not a medical device: scores are triage aids for trained readers, never a diagnosis.\n' +
      '  Press Ctrl+C to stop.\n',
  );
  await new Promise<void>((resolve) => closeOnSignals(server, resolve));
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve the triage web app and the HTTP API (images are processed in memory, never stored)')
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .option(
      '--host <host>',
      'address to bind (use 0.0.0.0 to expose on the network, at your own risk)',
      '127.0.0.1',
    )
    .option('-p, --port <port>', 'port (0 picks a free one)', integerArg(0), 8080)
    .option(
      '--allowed-hosts <hosts>',
      'comma-separated host names the Host header may carry (.example.org: the domain and its sub-domains; ' +
        '*: any). Default: the bound address and localhost',
      hostList,
    )
    .option(
      '--api-key <key>',
      `require "Authorization: Bearer <key>" on /api/ (default: $${API_KEY_ENV}; the variable keeps the key out of ps)`,
    )
    .addOption(new Option('--backend <name>', 'TF.js backend').choices([...BACKEND_NAMES]).default('wasm'))
    .option('--threads <n>', 'wasm threads for inference (default: $CXR_WASM_THREADS, else 1)', integerArg(1))
    .option('--max-upload-mb <mb>', 'largest request body in MB', integerArg(1), 50)
    .option(
      '--max-pixels <n>',
      'largest decoded image (width x height), a decompression-bomb guard',
      integerArg(1),
      DEFAULT_LIMITS.maxPixels,
    )
    .option('--queue <n>', 'images allowed to wait for inference before answering 503', integerArg(1), 64)
    .option('--timeout <seconds>', 'inference timeout per request', integerArg(1), 30)
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['silent', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .action(serve);
}
