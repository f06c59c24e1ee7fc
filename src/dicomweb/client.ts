/**
 * A small DICOMweb client: QIDO-RS search (paged), WADO-RS retrieve (instances and metadata) and STOW-RS store.
 *
 * Every request has a timeout; transient failures (connection refused or reset, timeouts, 408/429/5xx) are retried
 * with exponential backoff (honouring Retry-After), anything else fails at once. Errors are `DicomWebError`s whose
 * messages name the operation, the status and never a credential or a data set value (only UIDs are in URLs).
 */

import { type DicomJson, stringValue, TAGS } from './json.ts';
import { boundaryOf, buildMultipart, parseMultipart } from './multipart.ts';

/** Where a failure came from; `transient` ones were retried before giving up. */
export type DicomWebErrorCode = 'pacs-unreachable' | 'pacs-timeout' | 'pacs-http' | 'pacs-answer';

export class DicomWebError extends Error {
  readonly code: DicomWebErrorCode;
  readonly status: number | undefined;
  readonly transient: boolean;
  constructor(
    code: DicomWebErrorCode,
    message: string,
    options: { status?: number; transient?: boolean } = {},
  ) {
    super(message);
    this.name = 'DicomWebError';
    this.code = code;
    this.status = options.status;
    this.transient = options.transient ?? false;
  }
}

export interface DicomWebOptions {
  /** Base URL of the DICOMweb service, e.g. `http://pacs:8042/dicom-web`. */
  url: string;
  /** HTTP basic authentication. */
  user?: string;
  password?: string;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Retries after a transient failure (default 3: four attempts in all). */
  retries?: number;
  /** First backoff delay in milliseconds, doubled on each retry (default 500). */
  backoffMs?: number;
}

/** One instance as DICOMweb addresses it. */
export interface InstanceRef {
  study: string;
  series: string;
  instance: string;
  /** SOP Class UID, when the search returned it. */
  sopClass?: string;
  modality?: string;
}

export interface InstanceQuery {
  /** Modality (one value, e.g. CR). */
  modality?: string;
  /** Study Date, a DICOM date or range (`20240101-`). */
  studyDate?: string;
  /** Restrict the search to one study. */
  study?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;
export const DEFAULT_BACKOFF_MS = 500;
/** Longest wait between two attempts, whatever Retry-After says. */
const MAX_BACKOFF_MS = 30_000;
export const DEFAULT_PAGE_SIZE = 100;

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The base URL without credentials or a trailing slash (credentials go in the Authorization header). */
export function cleanBaseUrl(url: string): { base: string; user?: string; password?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DicomWebError('pacs-answer', `not a valid DICOMweb URL: ${url.replace(/\/\/[^@/]*@/, '//')}`);
  }
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = '';
  parsed.password = '';
  return { base: parsed.toString().replace(/\/+$/, ''), user, password };
}

export class DicomWebClient {
  readonly base: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(options: DicomWebOptions) {
    const { base, user, password } = cleanBaseUrl(options.url);
    this.base = base;
    const login = options.user ?? user;
    const secret = options.password ?? password ?? '';
    this.authorization = login ? `Basic ${Buffer.from(`${login}:${secret}`).toString('base64')}` : undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  }

  /** QIDO-RS instance search, one page at a time, each instance once. */
  async *searchInstances(query: InstanceQuery, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<InstanceRef> {
    const seen = new Set<string>();
    const prefix = query.study ? `/studies/${query.study}` : '';
    for (let offset = 0; ; offset += pageSize) {
      const params = new URLSearchParams();
      if (query.modality) params.set('Modality', query.modality);
      if (query.studyDate) params.set('StudyDate', query.studyDate);
      for (const tag of ['0020000D', '0020000E', '00080016', '00080060']) params.append('includefield', tag);
      params.set('limit', String(pageSize));
      params.set('offset', String(offset));
      const page = await this.json<DicomJson[]>(`${prefix}/instances?${params}`, 'QIDO-RS search');
      for (const item of page) {
        const ref: InstanceRef = {
          study: stringValue(item, TAGS.studyInstanceUid) ?? query.study ?? '',
          series: stringValue(item, TAGS.seriesInstanceUid) ?? '',
          instance: stringValue(item, TAGS.sopInstanceUid) ?? '',
          sopClass: stringValue(item, TAGS.sopClassUid),
          modality: stringValue(item, TAGS.modality),
        };
        if (!ref.study || !ref.series || !ref.instance) continue;
        if (seen.has(ref.instance)) continue;
        seen.add(ref.instance);
        yield ref;
      }
      if (page.length < pageSize) return;
    }
  }

  /** WADO-RS: the instance as a DICOM Part 10 file, in the transfer syntax it is stored in. */
  async retrieveInstance(ref: InstanceRef): Promise<Uint8Array> {
    const accept = 'multipart/related; type="application/dicom"; transfer-syntax=*';
    const response = await this.request(instancePath(ref), 'WADO-RS retrieve', { headers: { accept } });
    const body = new Uint8Array(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? '';
    if (!/^multipart\//i.test(contentType)) {
      if (/application\/dicom/i.test(contentType)) return body;
      throw new DicomWebError('pacs-answer', `WADO-RS retrieve answered ${contentType || 'no content type'}`);
    }
    const boundary = boundaryOf(contentType);
    const part = boundary ? parseMultipart(body, boundary)[0] : undefined;
    if (!part || part.body.length === 0) {
      throw new DicomWebError('pacs-answer', 'WADO-RS retrieve answered an empty multipart body');
    }
    return part.body;
  }

  /** WADO-RS metadata of one instance (DICOM JSON, without bulk data). */
  async retrieveMetadata(ref: InstanceRef): Promise<DicomJson> {
    const list = await this.json<DicomJson[]>(`${instancePath(ref)}/metadata`, 'WADO-RS metadata');
    if (list.length === 0) throw new DicomWebError('pacs-answer', 'WADO-RS metadata answered no data set');
    return list[0];
  }

  /** STOW-RS: stores Part 10 files into `study`; fails when the server refuses any of them. */
  async store(study: string, files: Uint8Array[]): Promise<void> {
    const { body, contentType } = buildMultipart(
      files.map((file) => ({ contentType: 'application/dicom', body: file })),
    );
    const response = await this.request(`/studies/${study}`, 'STOW-RS store', {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/dicom+json' },
      body: new Uint8Array(body) as Uint8Array<ArrayBuffer>,
    });
    const text = await response.text();
    let answer: DicomJson | undefined;
    try {
      answer = text ? (JSON.parse(text) as DicomJson) : undefined;
    } catch {
      answer = undefined;
    }
    const failed = answer?.[TAGS.failedSopSequence]?.Value ?? [];
    if (failed.length > 0) {
      const reason = stringValue(failed[0] as DicomJson, TAGS.failureReason);
      throw new DicomWebError(
        'pacs-answer',
        `STOW-RS store: the server refused ${failed.length} of ${files.length} instances${reason ? ` (failure reason ${reason})` : ''}`,
      );
    }
  }

  /** GET returning DICOM JSON; 204 No Content is an empty list. */
  private async json<T>(path: string, what: string): Promise<T> {
    const response = await this.request(path, what, { headers: { accept: 'application/dicom+json' } });
    const text = response.status === 204 ? '' : await response.text();
    if (!text.trim()) return [] as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DicomWebError('pacs-answer', `${what}: the server's answer is not JSON`);
    }
  }

  /** One request with timeout and retries; resolves only with a 2xx response. */
  private async request(path: string, what: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization) headers.set('authorization', this.authorization);
    for (let attempt = 0; ; attempt++) {
      let error: DicomWebError;
      let retryAfterMs: number | undefined;
      try {
        const response = await fetch(`${this.base}${path}`, {
          ...init,
          headers,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (response.ok) return response;
        await response.body?.cancel();
        const transient = TRANSIENT_STATUS.has(response.status);
        error = new DicomWebError(
          'pacs-http',
          `${what}: PACS answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
          { status: response.status, transient },
        );
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
      } catch (err) {
        error = networkError(err, what, this.timeoutMs);
      }
      if (!error.transient || attempt >= this.retries) {
        if (attempt > 0) error.message += ` (after ${attempt + 1} attempts)`;
        throw error;
      }
      await sleep(Math.min(MAX_BACKOFF_MS, retryAfterMs ?? this.backoffMs * 2 ** attempt));
    }
  }
}

function instancePath(ref: InstanceRef): string {
  return `/studies/${ref.study}/series/${ref.series}/instances/${ref.instance}`;
}

function retryAfter(header: string | null): number | undefined {
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** fetch rejects with a TypeError whose `cause` holds the system error, or a TimeoutError on abort. */
function networkError(err: unknown, what: string, timeoutMs: number): DicomWebError {
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new DicomWebError('pacs-timeout', `${what}: PACS did not answer within ${timeoutMs / 1000} s`, {
      transient: true,
    });
  }
  const cause = (err as { cause?: NodeJS.ErrnoException })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new DicomWebError('pacs-unreachable', `${what}: cannot reach the PACS (${detail})`, {
    transient: true,
  });
}
