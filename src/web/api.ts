/**
 * The browser's client for the HTTP API. Types come from the server's schemas (type-only imports, so no
 * server code reaches the bundle). A full queue (503) is retried after the server's Retry-After; a 401 (the
 * server has an API key) asks the user for the key and tries again.
 */
import type {
  ErrorResponse,
  Evaluation,
  GradCamMap,
  ModelInfo,
  PredictResponse,
  SampleList,
} from '../serve/schemas.ts';
import { askForKey, currentKey, forgetKey } from './api-key.ts';

export type { Evaluation, GradCamMap, ModelInfo, PredictResponse, SampleList };

/** An error answer from the API, or a network failure (code `network`). */
export class ApiRequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const MAX_RETRIES = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function errorFrom(response: Response): Promise<ApiRequestError> {
  try {
    const body = (await response.json()) as ErrorResponse;
    return new ApiRequestError(body.error.code, body.error.message, response.status);
  } catch {
    return new ApiRequestError(
      'http',
      `the server answered ${response.status} ${response.statusText}`,
      response.status,
    );
  }
}

/** `init` with the API key's Authorization header, when there is a key. */
function withKey(init: RequestInit | undefined, key: string | null): RequestInit | undefined {
  if (!key) return init;
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${key}`);
  return { ...init, headers };
}

async function request<T>(url: string, init?: RequestInit): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    const key = currentKey();
    try {
      response = await fetch(url, withKey(init, key));
    } catch {
      throw new ApiRequestError('network', 'could not reach the Pneumoscope server', 0);
    }
    if (response.ok) return (await response.json()) as T;
    if (response.status === 401) {
      const refused = await errorFrom(response);
      // Forget the refused key, unless the user has typed a new one meanwhile.
      if (key !== null && key === currentKey()) forgetKey();
      const reason = key
        ? 'That key was not accepted. Check it and try again.'
        : 'This Pneumoscope server is protected by an API key. Enter the key you were given by whoever runs it.';
      if (await askForKey(reason)) continue;
      throw refused;
    }
    if (response.status === 503 && attempt < MAX_RETRIES) {
      const seconds = Number(response.headers.get('retry-after') ?? '1');
      await sleep(Math.min(30, Math.max(1, seconds)) * 1000);
      continue;
    }
    throw await errorFrom(response);
  }
}

/** Scores one file. `preview` asks for a grey JPEG of the image (needed for DICOM, used for all). */
export function predict(
  file: Blob,
  options: { heatmap: boolean; preview: boolean },
): Promise<PredictResponse> {
  const query = new URLSearchParams();
  if (options.heatmap) query.set('heatmap', '1');
  if (options.preview) query.set('preview', '1');
  const form = new FormData();
  form.append('image', file, file instanceof File ? file.name : 'image');
  return request<PredictResponse>(`/api/v1/predict?${query}`, { method: 'POST', body: form });
}

export function getModel(): Promise<ModelInfo> {
  return request<ModelInfo>('/api/v1/model');
}

export function listSamples(): Promise<SampleList> {
  return request<SampleList>('/api/v1/samples');
}

/** Downloads a bundled sample as a File, as if the user had picked it. */
export async function fetchSample(url: string, name: string, lastModified?: number): Promise<File> {
  const response = await fetch(url);
  if (!response.ok) throw await errorFrom(response);
  const blob = await response.blob();
  return new File([blob], name, { type: blob.type, lastModified });
}
