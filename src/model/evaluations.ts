/**
 * The evaluation records of metadata.json (`evaluations`): building them from labels and probabilities, so
 * training, `cxr evaluate --attach` and `cxr calibrate` all record the same shape with the same intervals, and
 * reading them back from any model, old ones included (a model that has only `metrics` is read as having one
 * `validation` record, its proportions re-given Wilson intervals from its confusion counts).
 */
import type { DataFingerprint } from '../core/types.ts';
import type { Confusion } from '../metrics/confusion.ts';
import { aucScoreInterval } from '../metrics/intervals.ts';
import {
  computeMetrics,
  type EvaluationMetrics,
  proportionIntervals,
  type ThresholdMetrics,
} from '../metrics/summary.ts';
import {
  EVALUATION_KINDS,
  type EvaluationKind,
  type EvaluationRecord,
  type ModelMetadata,
  type ShiftSummary,
} from './metadata.ts';

/** Names used for the records training writes. */
export const VALIDATION_RECORD_NAME = 'random patient split';
export const SHIFT_RECORD_NAME = 'shift suite';

/** Where a record's images came from and how it was measured (all optional). */
export interface RecordContext {
  /** Fingerprint of the images measured. */
  data?: DataFingerprint;
  /** The command line that measured it. */
  command?: string;
  note?: string;
  /** Default: now. */
  createdAt?: string;
}

/** How the intervals are computed. */
export interface IntervalOptions {
  /** Bootstrap resamples for the ROC-AUC interval (default 1,000). */
  bootstrapSamples?: number;
  seed?: number;
}

export interface EvaluationRecordOptions extends RecordContext, IntervalOptions {
  kind: EvaluationKind;
  name: string;
  /** 0 = NORMAL, 1 = PNEUMONIA. */
  labels: ArrayLike<number>;
  /** Calibrated P(PNEUMONIA), as the model's metadata prescribes. */
  probabilities: ArrayLike<number>;
  /** The model's stored threshold. */
  threshold: number;
}

/** Measures one labelled set and returns its record (metrics at the stored threshold, 95% intervals). */
export function evaluationRecord(options: EvaluationRecordOptions): EvaluationRecord {
  const metrics = computeMetrics({
    labels: options.labels,
    probabilities: options.probabilities,
    threshold: options.threshold,
    bootstrapSamples: options.bootstrapSamples,
    seed: options.seed,
  });
  return recordFromMetrics({ ...options, metrics });
}

/** A record around metrics already computed (e.g. by `cxr evaluate`). */
export function recordFromMetrics(
  options: RecordContext & {
    kind: EvaluationKind;
    name: string;
    metrics: EvaluationMetrics;
    perShift?: Record<string, ShiftSummary>;
  },
): EvaluationRecord {
  const record: EvaluationRecord = {
    kind: options.kind,
    name: options.name,
    createdAt: options.createdAt ?? new Date().toISOString(),
    ...(options.data ? { data: options.data } : {}),
    n: options.metrics.n,
    metrics: options.metrics,
  };
  if (options.perShift) record.perShift = options.perShift;
  if (options.command) record.command = options.command;
  if (options.note) record.note = options.note;
  return record;
}

/** One shift's scores: the validation images re-rendered by one shift of the suite. */
export interface ShiftScores {
  name: string;
  description?: string;
  labels: ArrayLike<number>;
  probabilities: ArrayLike<number>;
}

/**
 * The `shift` record: every shift's images pooled into one set of metrics (with intervals), plus a summary per
 * shift with its own intervals.
 */
export function shiftEvaluationRecord(
  options: RecordContext &
    IntervalOptions & {
      shifts: readonly ShiftScores[];
      /** The model's stored threshold. */
      threshold: number;
      /** Default "shift suite". */
      name?: string;
    },
): EvaluationRecord {
  if (options.shifts.length === 0) throw new Error('shift evaluation: no shifts');
  const labels: number[] = [];
  const probabilities: number[] = [];
  const perShift: Record<string, ShiftSummary> = {};
  for (const shift of options.shifts) {
    const m = computeMetrics({
      labels: shift.labels,
      probabilities: shift.probabilities,
      threshold: options.threshold,
      bootstrapSamples: options.bootstrapSamples,
      seed: options.seed,
    });
    perShift[shift.name] = {
      ...(shift.description ? { description: shift.description } : {}),
      n: m.n,
      rocAuc: m.rocAuc,
      sensitivity: m.sensitivity,
      specificity: m.specificity,
      ece: m.ece,
      ci95: { sensitivity: m.ci95.sensitivity, specificity: m.ci95.specificity, rocAuc: m.ci95.rocAuc },
    };
    for (let i = 0; i < shift.labels.length; i++) {
      labels.push(shift.labels[i]);
      probabilities.push(shift.probabilities[i]);
    }
  }
  const pooled = computeMetrics({ labels, probabilities, threshold: options.threshold, bootstrapSamples: 0 });
  const k = options.shifts.length;
  return recordFromMetrics({
    kind: 'shift',
    name: options.name ?? SHIFT_RECORD_NAME,
    metrics: {
      ...pooled,
      ...onceEachIntervals(pooled, k),
      atHalf: { ...pooled.atHalf, ...onceEachIntervals(pooled.atHalf, k) },
    },
    perShift,
    data: options.data,
    command: options.command,
    note:
      options.note ??
      `${k} shifts of the same images pooled; the pooled intervals count each image once, not ${k} times.`,
    createdAt: options.createdAt,
  });
}

/**
 * Intervals for metrics pooled over `k` re-renderings of the same images: the renderings are not independent
 * samples, so the counts are divided by k (each image counted once) before the Wilson and score intervals.
 */
function onceEachIntervals(m: ThresholdMetrics, k: number): Pick<ThresholdMetrics, 'ci95' | 'ciMethod'> {
  const c = m.confusion;
  const once = (x: number) => Math.round(x / k);
  const confusion = { tp: once(c.tp), fp: once(c.fp), tn: once(c.tn), fn: once(c.fn) };
  const positives = confusion.tp + confusion.fn;
  const negatives = confusion.tn + confusion.fp;
  return {
    ci95: { ...proportionIntervals(confusion), rocAuc: aucScoreInterval(m.rocAuc, positives, negatives) },
    ciMethod: { proportions: 'wilson', rocAuc: 'hanley-mcneil-score' },
  };
}

function isConfusion(value: unknown): value is Confusion {
  const c = value as Partial<Confusion> | null;
  return !!c && ['tp', 'fp', 'tn', 'fn'].every((k) => Number.isInteger(c[k as keyof Confusion]));
}

/**
 * Metrics written before Wilson intervals (bootstrap intervals of rates, which collapse to a point at 0 or 1)
 * get Wilson intervals recomputed from their confusion counts; the ROC-AUC interval is kept.
 */
function withWilsonIntervals(metrics: Record<string, unknown>): EvaluationMetrics {
  const m = metrics as unknown as EvaluationMetrics;
  if (m.ciMethod?.proportions === 'wilson' || !isConfusion(m.confusion)) return m;
  const rocAuc = (m.ci95?.rocAuc ?? [Number.NaN, Number.NaN]) as [number, number];
  return {
    ...m,
    ci95: { ...proportionIntervals(m.confusion), rocAuc },
    ciMethod: { proportions: 'wilson', rocAuc: 'stratified-bootstrap' },
  };
}

/**
 * Every evaluation of a model, in the order validation, shift, external, site-calibration (each kind oldest
 * first). A model with only `metrics` (older models) gets one `validation` record made from it.
 */
export function modelEvaluations(metadata: ModelMetadata): EvaluationRecord[] {
  const records = (metadata.evaluations ?? []).map((r) => ({
    ...r,
    metrics: withWilsonIntervals(r.metrics as unknown as Record<string, unknown>),
  }));
  if (metadata.metrics && !records.some((r) => r.kind === 'validation')) {
    const metrics = withWilsonIntervals(metadata.metrics);
    records.push({
      kind: 'validation',
      name: VALIDATION_RECORD_NAME,
      createdAt: metadata.createdAt,
      ...(metadata.data.validation ? { data: metadata.data.validation } : {}),
      n: typeof metrics.n === 'number' ? metrics.n : (metadata.data.validation?.count ?? 0),
      metrics,
    });
  }
  const rank = (r: EvaluationRecord) => EVALUATION_KINDS.indexOf(r.kind);
  return records
    .map((r, i) => ({ r, i }))
    .sort((x, y) => rank(x.r) - rank(y.r) || x.r.createdAt.localeCompare(y.r.createdAt) || x.i - y.i)
    .map(({ r }) => r);
}

/**
 * The metadata with `record` added. A `validation` or `shift` record replaces the one of the same kind (a model
 * has one of each); `external` and `site-calibration` records accumulate.
 */
export function withEvaluation(metadata: ModelMetadata, record: EvaluationRecord): ModelMetadata {
  const unique = record.kind === 'validation' || record.kind === 'shift';
  const kept = (metadata.evaluations ?? []).filter((r) => !(unique && r.kind === record.kind));
  return { ...metadata, evaluations: [...kept, record] };
}
