/**
 * Where the app scores images. The server scorer sends each file to `/api/v1/predict`; the device scorer
 * (./device.ts, loaded only when asked for) runs the same model in this browser, so the file never leaves the
 * machine. Both give the same `Outcome`.
 */
import { ApiRequestError, type GradCamMap, type PredictResponse, predict } from './api.ts';
import type { Outcome } from './items.ts';

export interface Scorer {
  readonly where: 'server' | 'device';
  score(file: File): Promise<Outcome>;
  /** The Grad-CAM map for a file this scorer has scored. */
  explain(file: File): Promise<GradCamMap>;
}

/** The answer of a server with the input gate; `status` and `flagged` may be absent on older servers. */
type GatedResponse = Omit<PredictResponse, 'status' | 'flagged'> & {
  status?: Outcome['status'];
  flagged?: boolean | null;
};

/** Error codes that mean the file itself was refused, not that the server failed. */
export function outcomeFromResponse(response: GatedResponse): Outcome {
  const status = response.status ?? 'scored';
  const scored = status === 'scored';
  return {
    status,
    probability: response.probability,
    flagged: scored ? (response.flagged ?? response.probability >= response.threshold) : undefined,
    label: scored ? (response.label ?? null) : null,
    reason: response.reason,
    warnings: response.warnings,
    threshold: response.threshold,
    model: response.model,
    thumbnail: response.preview,
  };
}

export class ServerScorer implements Scorer {
  readonly where = 'server' as const;
  private readonly model: () => { threshold: number; name: string; version: string } | null;

  constructor(model: () => { threshold: number; name: string; version: string } | null) {
    this.model = model;
  }

  async score(file: File): Promise<Outcome> {
    try {
      return outcomeFromResponse(await predict(file, { heatmap: false, preview: true }));
    } catch (err) {
      const model = this.model();
      return {
        status: 'failed',
        error:
          err instanceof ApiRequestError
            ? { code: err.code, message: err.message }
            : { code: 'client', message: String(err) },
        threshold: model?.threshold ?? Number.NaN,
        model: { name: model?.name ?? '', version: model?.version ?? '' },
      };
    }
  }

  async explain(file: File): Promise<GradCamMap> {
    const result = await predict(file, { heatmap: true, preview: false });
    if (!result.cam) throw new Error('the server sent no Grad-CAM map');
    return result.cam;
  }
}
