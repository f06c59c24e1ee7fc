/**
 * Every error the HTTP API can answer, in one table: a stable machine-readable code, its HTTP status and, for
 * 503s, a hint for `Retry-After`. Route handlers throw `ApiError`; `toApiError` maps everything else (Fastify,
 * multipart and decoding errors) onto this table so clients only ever see `{"error":{"code","message"}}`.
 */
import { DecodeError } from '../data/decode-error.ts';

/** The API's error codes with their HTTP status. */
export const ERROR_STATUS = {
  /** The request was malformed: bad query string, unknown parameter value. */
  'bad-request': 400,
  /** Multipart request without an image in the expected field. */
  'missing-image': 400,
  /** A multipart file arrived in a field other than the expected one. */
  'wrong-field': 400,
  /** The body (or the uploaded file) has zero bytes. */
  'empty-body': 400,
  /** The server has an API key and the request did not carry it (`Authorization: Bearer <key>`). */
  unauthorized: 401,
  /** The Host header names a host this server does not serve (see `--allowed-hosts`). */
  'host-not-allowed': 403,
  /** No route for this method and path. */
  'not-found': 404,
  /** The connection was too slow to deliver the request in time. */
  'request-timeout': 408,
  /** The upload is larger than the configured byte limit. */
  'payload-too-large': 413,
  /** Too many files in one batch. */
  'too-many-files': 413,
  /** The image's decoded size (width x height) exceeds the pixel limit: a decompression-bomb guard. */
  'image-too-large': 413,
  /** The request's headers are larger than the server accepts. */
  'headers-too-large': 431,
  /** The content type or the bytes are not a supported image format. */
  'unsupported-media-type': 415,
  /** The bytes look like a supported format but cannot be decoded (truncated, damaged). */
  'corrupt-image': 422,
  /** Something failed on our side; the message is hidden from the client. */
  internal: 500,
  /** The inference queue is full: retry after `Retry-After` seconds. */
  'queue-full': 503,
  /** The request waited or ran longer than the inference timeout. */
  'inference-timeout': 503,
  /** The server is shutting down and takes no new work. */
  'shutting-down': 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error meant for the client as it is: its code picks the HTTP status. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Seconds for the `Retry-After` header (503 only). */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Maps a decoding failure code (see src/data/decode.ts DecodeErrorCode) onto an API error code. */
export function decodeErrorCode(code: string): ErrorCode {
  switch (code) {
    case 'empty':
      return 'empty-body';
    case 'unsupported':
      return 'unsupported-media-type';
    case 'too-large':
      return 'image-too-large';
    case 'corrupt':
    case 'unreadable':
      return 'corrupt-image';
    default:
      return 'internal';
  }
}

/** Fastify and @fastify/multipart error codes that mean "the client sent something wrong". */
const FRAMEWORK_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload-too-large', message: 'request body exceeds the upload limit' },
  FST_REQ_FILE_TOO_LARGE: { code: 'payload-too-large', message: 'uploaded file exceeds the upload limit' },
  // Backstops only: the upload reader counts files itself and names the limit (src/serve/uploads.ts).
  FST_FILES_LIMIT: { code: 'too-many-files', message: 'too many files in one request' },
  FST_PARTS_LIMIT: { code: 'too-many-files', message: 'too many parts in one multipart request' },
  FST_FIELDS_LIMIT: { code: 'bad-request', message: 'too many form fields' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported-media-type',
    message: 'send multipart/form-data, image/* or application/dicom',
  },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    code: 'unsupported-media-type',
    message: 'expected a multipart/form-data request',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'empty-body', message: 'request body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'bad-request',
    message: 'Content-Length does not match the body',
  },
  FST_PROTO_VIOLATION: { code: 'bad-request', message: 'forbidden form field name' },
  FST_ERR_BAD_URL: { code: 'bad-request', message: 'malformed URL (invalid percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'bad-request', message: 'a URL path segment is too long' },
  FST_MP_PREMATURE_CLOSE: { code: 'bad-request', message: 'the upload ended before the form was complete' },
  FST_ERR_VALIDATION: { code: 'bad-request', message: 'invalid request' },
};

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
}

/** Any thrown value as an ApiError; unknown server-side failures become `internal` with a generic message. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DecodeError) return new ApiError(decodeErrorCode(err.code), err.message);
  const e = (err ?? {}) as FrameworkError;
  const known = e.code ? FRAMEWORK_ERRORS[e.code] : undefined;
  if (known) {
    // Validation messages come from our own schemas and say which parameter is wrong: worth passing on.
    const message = e.validation && e.message ? e.message : known.message;
    return new ApiError(known.code, message);
  }
  // The client went away or sent a broken stream: its fault, nothing to log as a server error.
  if (e.message === 'aborted' || e.code === 'ECONNRESET') {
    return new ApiError('bad-request', 'the upload ended before it was complete');
  }
  if (
    e.message &&
    /^(Multipart|Malformed|Boundary required|Unexpected end of multipart)|terminated early/i.test(e.message)
  ) {
    return new ApiError('bad-request', `malformed multipart body: ${e.message}`);
  }
  if (e.statusCode === 408 || e.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ApiError('request-timeout', 'the request took too long to arrive');
  }
  if (e.statusCode === 413) return new ApiError('payload-too-large', 'request body exceeds the upload limit');
  if (e.statusCode === 415) return new ApiError('unsupported-media-type', 'unsupported content type');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError('bad-request', e.message ?? 'bad request');
  }
  return new ApiError('internal', 'internal server error');
}

/**
 * The answer to a connection-level failure that happens before Fastify sees a request (Node's HTTP parser or its
 * request timer): a malformed request line or header, a Content-Length that does not fit the bytes sent (the
 * surplus is parsed as the next request), headers over the size limit, or a request that took too long to
 * arrive. `requestTimeoutMs` makes the 408 message name the limit.
 */
export function clientError(err: { code?: string }, requestTimeoutMs: number): ApiError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(
        'request-timeout',
        `the request did not arrive within ${Number((requestTimeoutMs / 1000).toFixed(1))} s`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('headers-too-large', 'the request headers are too large');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new ApiError('bad-request', 'invalid Content-Length header');
    case 'HPE_INVALID_METHOD':
      return new ApiError(
        'bad-request',
        'malformed HTTP request (if it followed an upload, that upload was longer than its Content-Length)',
      );
    default:
      return new ApiError('bad-request', 'malformed HTTP request');
  }
}

/** One Ajv error, as Fastify hands them to a schema error formatter. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const PART_NAMES: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  headers: 'header',
  body: 'field',
};

/**
 * One sentence per invalid field, naming the allowed values where the schema lists them: Ajv reports a union of
 * literals as one "must be equal to constant" per literal plus an "anyOf" summary, which says nothing useful.
 */
export function validationMessage(errors: SchemaError[], part: string): string {
  const what = PART_NAMES[part] ?? part;
  const fields = new Map<string, { allowed: unknown[]; other?: string }>();
  for (const e of errors) {
    const field =
      e.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : e.keyword === 'required'
          ? String(e.params.missingProperty)
          : e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const entry = fields.get(field) ?? { allowed: [] };
    if (e.keyword === 'const') entry.allowed.push(e.params.allowedValue);
    else if (e.keyword === 'enum') entry.allowed.push(...((e.params.allowedValues as unknown[]) ?? []));
    else if (e.keyword === 'additionalProperties') entry.other = `unknown ${what} "${field}"`;
    else if (e.keyword === 'required') entry.other = `missing ${what} "${field}"`;
    else if (e.keyword !== 'anyOf') entry.other ??= `${what} "${field}" ${e.message ?? 'is invalid'}`;
    fields.set(field, entry);
  }
  const sentences = [...fields].map(([field, { allowed, other }]) =>
    allowed.length > 0 ? `${what} "${field}" must be one of: ${allowed.join(', ')}` : other,
  );
  return sentences.filter(Boolean).join('; ') || `invalid ${what}`;
}
