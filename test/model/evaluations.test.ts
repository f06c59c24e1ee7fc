import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wilsonInterval } from '../../src/metrics/intervals.ts';
import { computeMetrics } from '../../src/metrics/summary.ts';
import {
  evaluationRecord,
  modelEvaluations,
  shiftEvaluationRecord,
  withEvaluation,
} from '../../src/model/evaluations.ts';
import { testMetadata } from '../helpers/model-fixture.ts';

const labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const probabilities = [0.1, 0.2, 0.3, 0.7, 0.4, 0.6, 0.8, 0.85, 0.9, 0.95];

describe('evaluationRecord', () => {
  it('measures at the stored threshold and records where and how', () => {
    const record = evaluationRecord({
      kind: 'external',
      name: 'site A',
      labels,
      probabilities,
      threshold: 0.5,
      command: 'cxr evaluate --attach',
      bootstrapSamples: 100,
      createdAt: '2026-01-02T00:00:00.000Z',
    });
    assert.equal(record.kind, 'external');
    assert.equal(record.n, 10);
    assert.equal(record.metrics.threshold, 0.5);
    assert.deepEqual(record.metrics.confusion, { tp: 5, fp: 1, tn: 3, fn: 1 });
    assert.deepEqual(record.metrics.ci95.sensitivity, wilsonInterval(5, 6));
    assert.equal(record.command, 'cxr evaluate --attach');
    assert.equal(record.createdAt, '2026-01-02T00:00:00.000Z');
  });
});

describe('shiftEvaluationRecord', () => {
  const shifts = [
    { name: 'zoom-in-25', description: 'tight framing', labels, probabilities },
    { name: 'blur', labels, probabilities: probabilities.map((p) => Math.min(1, p + 0.05)) },
  ];
  const record = shiftEvaluationRecord({ shifts, threshold: 0.5, bootstrapSamples: 50 });

  it('pools the shifts and summarises each with its own intervals', () => {
    assert.equal(record.kind, 'shift');
    assert.equal(record.n, 20);
    assert.deepEqual(Object.keys(record.perShift ?? {}), ['zoom-in-25', 'blur']);
    const zoom = record.perShift?.['zoom-in-25'];
    assert.equal(zoom?.n, 10);
    assert.equal(zoom?.description, 'tight framing');
    assert.deepEqual(zoom?.ci95.sensitivity, wilsonInterval(5, 6));
  });

  it('counts each image once in the pooled intervals (the shifts re-render the same images)', () => {
    const c = record.metrics.confusion;
    assert.deepEqual(
      record.metrics.ci95.sensitivity,
      wilsonInterval(Math.round(c.tp / 2), Math.round(c.tp / 2) + Math.round(c.fn / 2)),
    );
    assert.match(record.note ?? '', /count each image once/);
  });
});

describe('modelEvaluations', () => {
  it("reads an older model's `metrics` as its validation record, with Wilson intervals from its counts", () => {
    // Shaped like models/default's metadata: specificity 1 with a zero-width bootstrap interval.
    const legacy = computeMetrics({ labels, probabilities, threshold: 0.75, bootstrapSamples: 0 });
    const old = {
      ...legacy,
      ci95: { ...legacy.ci95, specificity: [1, 1] },
      ciMethod: undefined,
    } as unknown as Record<string, unknown>;
    const metadata = testMetadata(32, {
      metrics: old,
      data: {
        count: 100,
        sha256: 'x',
        classCounts: { NORMAL: 40, PNEUMONIA: 60 },
        validation: { count: 10, sha256: 'v', classCounts: { NORMAL: 4, PNEUMONIA: 6 } },
      },
    });
    const [record, ...rest] = modelEvaluations(metadata);
    assert.equal(rest.length, 0);
    assert.equal(record.kind, 'validation');
    assert.equal(record.n, 10);
    assert.equal(record.data?.sha256, 'v');
    assert.equal(record.metrics.specificity, 1);
    assert.deepEqual(record.metrics.ci95.specificity, wilsonInterval(4, 4));
    assert.deepEqual(record.metrics.ci95.rocAuc, legacy.ci95.rocAuc);
  });

  it('orders records by kind, and replaces validation and shift records but accumulates external ones', () => {
    const make = (kind: 'validation' | 'external', name: string) =>
      evaluationRecord({ kind, name, labels, probabilities, threshold: 0.5, bootstrapSamples: 0 });
    let metadata = testMetadata(32);
    metadata = withEvaluation(metadata, make('external', 'site A'));
    metadata = withEvaluation(metadata, make('validation', 'first'));
    metadata = withEvaluation(metadata, make('validation', 'second'));
    metadata = withEvaluation(metadata, make('external', 'site B'));
    assert.deepEqual(
      modelEvaluations(metadata).map((r) => `${r.kind}:${r.name}`),
      ['validation:second', 'external:site A', 'external:site B'],
    );
  });
});
