/**
 * The training report: report.html beside the model, with the loss / accuracy / ROC-AUC curves per epoch (also
 * written as training-curves.png), the validation metrics and the run's settings.
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

/** One chart with the three curves side by side. */
export function trainingCurvesSpec(history: EpochRecord[]): TopLevelSpec {
  const charts = (['Loss', 'Accuracy', 'ROC-AUC'] as const).map((metric) => {
    const { $schema: _schema, ...spec } = lineChart({
      title: metric,
      data: curveData(history, metric),
      x: 'epoch',
      y: 'value',
      series: 'set',
      yTitle: metric === 'Loss' ? 'class-weighted cross-entropy' : metric,
      width: 260,
      height: 200,
    }) as TopLevelSpec & { $schema?: string };
    // Whole epochs only on the x axis.
    const encoding = (spec as { encoding: { x: Record<string, unknown> } }).encoding;
    encoding.x.axis = { tickMinStep: 1, format: 'd' };
    return spec;
  });
  return { title: 'Training curves', hconcat: charts } as unknown as TopLevelSpec;
}

function fmt(x: number | null | undefined, digits = 4): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
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
  const curves = await renderChart(trainingCurvesSpec(history));
  const sections: ReportSection[] = [
    {
      heading: 'Summary',
      blocks: [
        {
          kind: 'keyValues',
          entries: [
            ['architecture', metadata.architecture],
            ['input size', `${metadata.preprocessing.imageSize} px`],
            ['epochs run', `${t.epochsRun} of ${t.epochsPlanned} (best: ${t.bestEpoch})`],
            ['stopped because', t.stopReason ?? 'all planned epochs ran'],
            ['training time', `${Math.round(t.seconds ?? 0)} s`],
            ['calibration', describeCalibration(metadata.calibration)],
            ['threshold', `${fmt(metadata.threshold)} (${metadata.thresholdRule})`],
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
          alt: 'loss, accuracy and ROC-AUC per epoch for training and validation',
          caption:
            'Training numbers are measured on augmented images in training mode (dropout on), so they can sit ' +
            'below the validation numbers.',
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
        metricsTableBlock(metrics, 4),
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
