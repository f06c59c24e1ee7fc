/**
 * Test helpers for the server: a tiny real model saved to a temporary directory, and a fake scorer whose timing
 * the test controls (for queueing, timeouts and shutdown).
 */
import { initEngine } from '../../src/engine/backend.ts';
import type { ModelMetadata } from '../../src/model/metadata.ts';
import type { PredictInput, PredictResult } from '../../src/predict/types.ts';
import type { ScoreOptions, Scorer } from '../../src/serve/scorer.ts';
import {
  testMetadata as baseTestMetadata,
  type SavedTestModel,
  saveTestModel,
} from '../helpers/model-fixture.ts';

/** What the server's test model shows (fresh objects per call, so a test that edits one cannot leak). */
function serveOverrides(): Partial<ModelMetadata> {
  return {
    name: 'serve-test-model',
    version: '0.0.1-test',
    createdAt: '2024-01-01T00:00:00.000Z',
    thresholdRule: 'test-rule',
    calibration: { method: 'temperature', temperature: 1.5 },
    seed: 7,
    data: {
      count: 100,
      sha256: 'test',
      classCounts: { NORMAL: 50, PNEUMONIA: 50 },
      validation: { count: 20, sha256: 'test', classCounts: { NORMAL: 10, PNEUMONIA: 10 } },
    },
    // Shaped like src/evaluate's metrics block; the values are made up for display tests.
    metrics: {
      n: 20,
      threshold: 0.5,
      accuracy: 0.85,
      sensitivity: 0.9,
      specificity: 0.8,
      precision: 0.818,
      npv: 0.889,
      f1: 0.857,
      rocAuc: 0.91,
      prAuc: 0.9,
      logLoss: 0.35,
      brier: 0.11,
      ece: 0.04,
      confusion: { tp: 9, fp: 2, tn: 8, fn: 1 },
      ci95: { accuracy: [0.7, 0.95], sensitivity: [0.7, 1], specificity: [0.5, 1], rocAuc: [0.8, 0.99] },
    },
  };
}

/** Metadata for a test model: valid, with a threshold, calibration and a few metrics to display. */
export function testMetadata(imageSize: number): ModelMetadata {
  return baseTestMetadata(imageSize, serveOverrides());
}

export const TEST_MODEL_CARD =
  '# Test model\n\nRandom weights, **for tests only**.\n\n- not trained\n- <script>alert(1)</script>\n';

export type TestModel = SavedTestModel;

/** A randomly initialised default-architecture model saved with metadata and a model card. */
export async function createTestModel(options: { imageSize?: number } = {}): Promise<TestModel> {
  await initEngine({ backend: 'wasm' });
  return saveTestModel({
    imageSize: options.imageSize,
    metadata: serveOverrides(),
    card: TEST_MODEL_CARD,
    tempPrefix: 'cxr-serve-test-',
  });
}

/**
 * A scorer that answers only when the test says so: each `predict` call waits until `release()` (or at once when
 * `autoRelease` is set). Probabilities come from the input's length so different inputs get different scores.
 */
export class FakeScorer implements Scorer {
  readonly metadata = testMetadata(32);
  readonly modelCard = TEST_MODEL_CARD;
  readonly calls: { names: string[]; options?: ScoreOptions }[] = [];
  autoRelease: boolean;
  disposed = false;
  private waiting: (() => void)[] = [];

  constructor(options: { autoRelease?: boolean } = {}) {
    this.autoRelease = options.autoRelease ?? true;
  }

  /** Lets every waiting `predict` call finish. */
  release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resume of waiting) resume();
  }

  get pendingCalls(): number {
    return this.waiting.length;
  }

  async predict(inputs: PredictInput[], options?: ScoreOptions): Promise<PredictResult[]> {
    this.calls.push({ names: inputs.map((input) => input.name), options });
    if (!this.autoRelease) await new Promise<void>((resume) => this.waiting.push(resume));
    return inputs.map((input, i) => {
      if (input.bytes.length === 0) {
        return {
          name: input.name,
          status: 'failed',
          reason: 'file is empty (0 bytes)',
          rank: i + 1,
          error: { code: 'empty', message: 'file is empty (0 bytes)' },
        };
      }
      const probability = (input.bytes.length % 97) / 97;
      return {
        name: input.name,
        status: 'scored',
        rank: i + 1,
        probability,
        label: probability >= this.metadata.threshold ? 'PNEUMONIA' : 'NORMAL',
        ...(options?.heatmaps ? { heatmapPng: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) } : {}),
      };
    });
  }

  dispose(): void {
    this.disposed = true;
  }
}
