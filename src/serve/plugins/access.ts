/**
 * Who may talk to the server: the Host header must name this server (a guard against DNS rebinding, where a web
 * page on another site resolves its own name to this machine), and, when an API key is set, every `/api/` request
 * must carry it as `Authorization: Bearer <key>`. The browser app, its assets, `/docs`, `/openapi.json`,
 * `/healthz` and the sample images stay open: they hold no patient data, and the app asks for the key itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.ts';

/** Environment variable holding the API key (`--api-key` wins). */
export const API_KEY_ENV = 'CXR_API_KEY';
/** The shortest key accepted: a short key can be guessed. */
export const MIN_API_KEY_LENGTH = 16;

export interface AccessOptions {
  /** Host names (and addresses) the Host header may carry; `*` accepts any. Undefined: no check. */
  allowedHosts?: readonly string[];
  /** When set, `/api/` requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * The Host header values accepted by default for a server bound to `bindHost`: that address, and the loopback
 * names. Bound to every interface (0.0.0.0, ::), every address of this machine and its host name.
 */
export function defaultAllowedHosts(bindHost: string): string[] {
  const hosts = new Set(['localhost', '127.0.0.1', '::1']);
  const bare = bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (!WILDCARDS.has(bare)) hosts.add(bare);
  else {
    hosts.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces()))
      for (const address of addresses ?? []) hosts.add(address.address.toLowerCase());
  }
  return [...hosts];
}

/** The host name of a Host header, without port or IPv6 brackets, lower-cased; null when absent or malformed. */
export function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end > 1 ? value.slice(1, end) : null;
  }
  const colon = value.indexOf(':');
  return colon < 0 ? value : colon > 0 && value.indexOf(':', colon + 1) < 0 ? value.slice(0, colon) : null;
}

/** Whether `host` is on the list: exact names, or `.example.org` for that domain and its sub-domains. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    const pattern = entry.toLowerCase().replace(/^\[|\]$/g, '');
    if (pattern === '*') return true;
    if (pattern.startsWith('.')) return host === pattern.slice(1) || host.endsWith(pattern);
    return host === pattern;
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Whether the request is for the API. Judged by the route that matched (`/%61pi/v1/model` reaches the route
 * `/api/v1/model`, so the raw URL text cannot decide), and for unmatched URLs by the decoded path, so that a
 * caller without the key learns nothing about which API routes exist.
 */
function isApiRequest(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route !== undefined) return route.startsWith('/api/');
  const pathname = request.url.split('?')[0];
  try {
    return decodeURIComponent(pathname).startsWith('/api/');
  } catch {
    return true;
  }
}

/** Constant-time comparison of the request's bearer token with the key. */
function keyMatches(request: FastifyRequest, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]), expected);
}

async function accessPlugin(app: FastifyInstance, options: AccessOptions): Promise<void> {
  const { allowedHosts, apiKey } = options;
  if (apiKey !== undefined && apiKey.length < MIN_API_KEY_LENGTH)
    throw new Error(`the API key must be at least ${MIN_API_KEY_LENGTH} characters long`);
  const expected = apiKey === undefined ? null : digest(apiKey);
  app.addHook('onRequest', async (request, reply) => {
    if (allowedHosts) {
      const host = hostOf(request.headers.host);
      if (host === null || !hostAllowed(host, allowedHosts)) {
        throw new ApiError(
          'host-not-allowed',
          host === null
            ? 'the request has no valid Host header'
            : `host "${host}" is not served here; start the server with --allowed-hosts ${host} to accept it`,
        );
      }
    }
    if (expected && isApiRequest(request) && !keyMatches(request, expected)) {
      reply.header('www-authenticate', 'Bearer realm="Pneumoscope"');
      throw new ApiError(
        'unauthorized',
        request.headers.authorization
          ? 'the API key is wrong'
          : 'this server needs an API key: send it as "Authorization: Bearer <key>"',
      );
    }
  });
}

export default fp(accessPlugin, { name: 'pneumoscope-access', fastify: '5.x' });
