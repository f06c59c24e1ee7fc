/**
 * Reading uploaded images out of a request, in memory only (nothing is ever written to disk): either a raw body
 * with an image/* or application/dicom content type, or multipart/form-data file parts. Enforces the field
 * names, the per-request byte limit and the file count, and refuses empty uploads.
 */
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { PredictInput } from '../predict/types.ts';
import { ApiError } from './errors.ts';

/** Content types accepted as a raw image body. */
export const RAW_IMAGE_CONTENT_TYPE =
  /^(?:image\/[\w.+-]+|application\/dicom|application\/octet-stream)\s*(?:;|$)/i;

/** The multipart field name for `POST /api/v1/predict`. */
export const SINGLE_FIELD = 'image';
/** The multipart field names accepted by `POST /api/v1/predict/batch`. */
export const BATCH_FIELDS = ['images', 'image'];

export interface UploadLimits {
  /** Bytes allowed in one request (all files together). */
  maxUploadBytes: number;
  /** Files allowed in one batch request. */
  maxFiles: number;
}

/** A file name safe to echo back: base name only, printable, bounded length. */
function cleanName(name: string | undefined, fallback: string): string {
  const base = path.basename((name ?? '').replace(/\\/g, '/'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const printable = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
  return printable.length > 0 ? printable : fallback;
}

function isMultipart(request: FastifyRequest): boolean {
  return request.isMultipart();
}

/** The raw body as bytes, or null when the request did not carry a raw image body. */
function rawBody(request: FastifyRequest): Uint8Array | null {
  const body = request.body as unknown;
  return Buffer.isBuffer(body) ? body : null;
}

/** Reads every file part of a multipart request whose field is one of `fields`. */
async function readParts(
  request: FastifyRequest,
  options: { fields: string[]; limits: UploadLimits },
): Promise<PredictInput[]> {
  const files: PredictInput[] = [];
  let total = 0;
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue;
    if (!options.fields.includes(part.fieldname)) {
      // Drain the stream so busboy can move on, then refuse: the client used the wrong field name.
      part.file.resume();
      throw new ApiError(
        'wrong-field',
        `expected the image in form field "${options.fields[0]}", got a file in field "${part.fieldname}"`,
      );
    }
    if (files.length >= options.limits.maxFiles) {
      part.file.resume();
      throw new ApiError('too-many-files', tooManyFilesMessage(options.limits.maxFiles));
    }
    const bytes = await part.toBuffer();
    total += bytes.length;
    if (total > options.limits.maxUploadBytes) {
      throw new ApiError(
        'payload-too-large',
        `upload exceeds the ${formatBytes(options.limits.maxUploadBytes)} limit`,
      );
    }
    files.push({ name: cleanName(part.filename, `image-${files.length + 1}`), bytes });
  }
  return files;
}

function tooManyFilesMessage(maxFiles: number): string {
  if (maxFiles === 1) return 'this route takes one image per request; send several to /api/v1/predict/batch';
  return `at most ${maxFiles} files per request; split the upload into several requests`;
}

/** The single image of a `POST /api/v1/predict` request. */
export async function readSingleImage(
  request: FastifyRequest,
  limits: Pick<UploadLimits, 'maxUploadBytes'>,
): Promise<PredictInput> {
  const raw = rawBody(request);
  if (raw) {
    if (raw.length === 0) throw new ApiError('empty-body', 'request body is empty');
    return { name: 'upload', bytes: raw };
  }
  if (!isMultipart(request)) {
    throw new ApiError(
      'unsupported-media-type',
      'send the image as multipart/form-data (field "image") or as a raw image/* or application/dicom body',
    );
  }
  const files = await readParts(request, { fields: [SINGLE_FIELD], limits: { ...limits, maxFiles: 1 } });
  if (files.length === 0) throw new ApiError('missing-image', 'no file in form field "image"');
  if (files[0].bytes.length === 0)
    throw new ApiError('empty-body', `uploaded file "${files[0].name}" is empty`);
  return files[0];
}

/** The files of a `POST /api/v1/predict/batch` request. Empty files are kept: they fail alone, in the results. */
export async function readBatchImages(
  request: FastifyRequest,
  limits: UploadLimits,
): Promise<PredictInput[]> {
  if (!isMultipart(request)) {
    throw new ApiError('unsupported-media-type', 'send the images as multipart/form-data, one part per file');
  }
  const files = await readParts(request, { fields: BATCH_FIELDS, limits });
  if (files.length === 0) throw new ApiError('missing-image', 'no files in form field "images"');
  return files;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}
