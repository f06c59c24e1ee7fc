/**
 * The training report: report.html beside the model, with the loss / accuracy / ROC-AUC curves per epoch and the
 * learning rate (also written as training-curves.png), the kept (best) epoch marked on each, the validation
 * metrics and the run's settings.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EvaluationMetrics } from '../metrics/summary.ts';
import { describeCalibration, type ModelMetadata, type TrainingSummary } from '../model/metadata.ts';
import { renderChart } from '../report/chart.ts';
import { htmlReport, type ReportSection } from '../report/html.ts';
import { metricsTableBlock } from '../report/metrics-table.ts';
import { type Datum, lineChart } from '../report/specs.ts';
import type { EpochRecord } from './loop.ts';

export const TRAINING_CURVES_PNG = 'training-curves.png';

type CurveKey = 'Loss' | 'Accuracy' | 'ROC-AUC';

function curveData(history: EpochRecord[], metric: CurveKey): Datum[] {
  const pick = (r: EpochRecord, set: 'train' | 'val') => {
    if (metric === 'Loss') return set === 'train' ? r.trainLoss : r.valLoss;
    if (metric === 'Accuracy') return set === 'train' ? r.trainAccuracy : r.valAccuracy;
    return set === 'train' ? r.trainAuc : r.valAuc;
  };
  return history.flatMap((r) =>
    (['train', 'val'] as const).map((set) => {
      const value = pick(r, set);
      return {
        epoch: r.epoch,
        set: set === 'train' ? 'train' : 'validation',
        value: Number.isFinite(value) ? value : null,
      };
    }),
  );
}

/**
 * A y domain that fits the data with a little room, so a metric moving between 0.95 and 0.99 is not a flat line
 * at the top of a 0–1 axis. Loss keeps zero in view (its floor means something); rates may not exceed 1.
 */
export function zoomedDomain(
  values: (number | null)[],
  options: { keepZero?: boolean; max?: number } = {},
): [number, number] | undefined {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (finite.length === 0) return undefined;
  let low = Math.min(...finite);
  let high = Math.max(...finite);
  const pad = Math.max((high - low) * 0.1, 0.005);
  low = options.keepZero ? 0 : Math.max(0, low - pad);
  high = options.max !== undefined ? Math.min(options.max, high + pad) : high + pad;
  return [Number(low.toFixed(4)), Number(high.toFixed(4))];
}

/** A dashed vertical rule at the kept epoch, labelled, to lay over a per-epoch chart. */
function bestEpochLayer(bestEpoch: number): object {
  return {
    data: { values: [{ epoch: bestEpoch, label: `kept: epoch ${bestEpoch}` }] },
    layer: [
      {
        mark: { type: 'rule', strokeDash: [4, 3], color: '#b4341c' },
        encoding: { x: { field: 'epoch', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, y: 2, fontSize: 10, color: '#b4341c' },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

/** One per-epoch line chart (whole epochs on x), with the kept epoch marked when known. */
function epochChart(
  options: Parameters<typeof lineChart>[0],
  bestEpoch: number | undefined,
  yScale: Record<string, unknown>,
): object {
  const {
    $schema: _schema,
    title,
    width,
    height,
    ...spec
  } = lineChart(options) as TopLevelSpec & {
    $schema?: string;
    title: string;
    width: number;
    height: number;
  };
  const encoding = (spec as { encoding: { x: Record<string, unknown>; y: Record<string, unknown> } })
    .encoding;
  encoding.x.axis = { tickMinStep: 1, format: 'd' };
  encoding.y.scale = { ...yScale, zero: false };
  return {
    title,
    width,
    height,
    layer: [spec, ...(bestEpoch !== undefined ? [bestEpochLayer(bestEpoch)] : [])],
  };
}

/**
 * The training curves side by side: loss, accuracy and ROC-AUC for training and validation (accuracy and AUC on
 * axes zoomed to the data), and the learning rate; a dashed line marks the epoch whose weights were kept.
 */
export function trainingCurvesSpec(
  history: EpochRecord[],
  options: { bestEpoch?: number } = {},
): TopLevelSpec {
  const charts = (['Loss', 'Accuracy', 'ROC-AUC'] as const).map((metric) => {
    const data = curveData(history, metric);
    const domain = zoomedDomain(
      data.map((d) => d.value as number | null),
      metric === 'Loss' ? { keepZero: true } : { max: 1 },
    );
    return epochChart(
      {
        title: metric,
        data,
        x: 'epoch',
        y: 'value',
        series: 'set',
        yTitle: metric === 'Loss' ? 'class-weighted cross-entropy' : metric,
        width: 230,
        height: 190,
      },
      options.bestEpoch,
      domain ? { domain } : {},
    );
  });
  const rates = history.map((r) => ({ epoch: r.epoch, rate: r.learningRate }));
  const rateChart = epochChart(
    {
      title: 'Learning rate',
      data: rates,
      x: 'epoch',
      y: 'rate',
      yTitle: 'learning rate',
      width: 200,
      height: 190,
    },
    options.bestEpoch,
    { domain: [0, Math.max(...rates.map((r) => r.rate)) * 1.05] },
  ) as { layer: { mark: Record<string, unknown> }[] };
  // Grey, so it does not read as the "train" series of the other charts.
  rateChart.layer[0].mark = { ...rateChart.layer[0].mark, color: '#555' };
  charts.push(rateChart);
  return { title: 'Training curves', hconcat: charts } as unknown as TopLevelSpec;
}

function fmt(x: number | null | undefined, digits = 4): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/**
 * An ensemble's summary counts all members' epochs together; list the members instead. The curves below are
 * the first member's (train.ts passes its history only).
 */
function epochsRunText(t: Partial<TrainingSummary>, ensemble: ModelMetadata['ensemble']): string {
  const members = ensemble?.members;
  if (!members || members.length < 2) return `${t.epochsRun} of ${t.epochsPlanned} (best: ${t.bestEpoch})`;
  const each = members.map((m, i) => `member ${i + 1}: ${m.epochsRun} (best: ${m.bestEpoch})`).join(', ');
  return `${members.length} members of up to ${t.epochsPlanned} each; ${each}; the curves show member 1`;
}

export interface TrainingReport {
  html: string;
  curvesPng: Buffer;
}

export async function buildTrainingReport(options: {
  metadata: ModelMetadata;
  history: EpochRecord[];
  metrics: EvaluationMetrics;
}): Promise<TrainingReport> {
  const { metadata, history, metrics } = options;
  const t = (metadata.training ?? {}) as Partial<TrainingSummary>;
  const curves = await renderChart(trainingCurvesSpec(history, { bestEpoch: t.bestEpoch }));
  const sections: ReportSection[] = [
    {
      heading: 'Summary',
      blocks: [
        {
          kind: 'keyValues',
          entries: [
            ['architecture', metadata.architecture],
            ['input size', `${metadata.preprocessing.imageSize} px`],
            ['epochs run', epochsRunText(t, metadata.ensemble)],
            ['stopped because', t.stopReason ?? 'all planned epochs ran'],
            ['training time', `${Math.round(t.seconds ?? 0)} s`],
            ['calibration', describeCalibration(metadata.calibration)],
            [
              'flagged at',
              `≥ ${(metadata.threshold * 100).toFixed(1)}% (${fmt(metadata.threshold)}, ${metadata.thresholdRule})`,
            ],
            ['command', t.command ?? ''],
          ],
        },
        ...(t.warnings ?? [])
          .slice(0, 20)
          .map((text) => ({ kind: 'note' as const, text, tone: 'warning' as const })),
      ],
    },
    {
      heading: 'Training curves',
      blocks: [
        {
          kind: 'chart',
          chart: curves,
          alt: 'loss, accuracy and ROC-AUC per epoch for training and validation, and the learning rate',
          caption:
            'Training numbers are measured on augmented images in training mode (dropout on), so they can sit ' +
            'below the validation numbers. The dashed line marks the epoch whose weights were kept. Accuracy ' +
            'and ROC-AUC axes are zoomed to the data: read the numbers on the axis.',
        },
      ],
    },
    {
      heading: 'Validation metrics',
      blocks: [
        {
          kind: 'paragraph',
          text:
            `${metrics.n} validation images, calibrated probabilities, threshold ${fmt(metrics.threshold)}. ` +
            'The threshold and temperature were fitted on these images, so these numbers are optimistic.',
        },
        metricsTableBlock(metrics, { digits: 4 }),
        {
          kind: 'keyValues',
          entries: Object.entries(metrics.confusion).map(([k, v]) => [k, v] as [string, number]),
        },
      ],
    },
    {
      heading: 'History',
      blocks: [
        {
          kind: 'table',
          columns: [
            'epoch',
            'lr',
            'train loss',
            'train acc',
            'train AUC',
            'val loss',
            'val acc',
            'val AUC',
            's',
          ],
          rows: history.map((r) => [
            r.epoch,
            r.learningRate.toExponential(2),
            fmt(r.trainLoss),
            fmt(r.trainAccuracy),
            fmt(r.trainAuc),
            fmt(r.valLoss),
            fmt(r.valAccuracy),
            fmt(r.valAuc),
            Math.round(r.seconds),
          ]),
        },
      ],
    },
  ];
  const html = htmlReport({
    title: `Training report: ${metadata.name}`,
    subtitle: metadata.architecture,
    sections,
  });
  return { html, curvesPng: curves.png };
}
