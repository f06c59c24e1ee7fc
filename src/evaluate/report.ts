/**
 * The evaluation report: confusion matrix, ROC and PR curves, reliability diagram, and a grid of the
 * misclassified images with their probabilities, in one self-contained HTML file.
 */
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { encodeGrayPng } from '../data/decode.ts';
import { reliabilityBins } from '../metrics/calibration.ts';
import { prCurve } from '../metrics/pr.ts';
import { rocCurve } from '../metrics/roc.ts';
import type { ThresholdMetrics } from '../metrics/summary.ts';
import { describeCalibration } from '../model/metadata.ts';
import { renderChart } from '../report/chart.ts';
import { type Figure, htmlReport, type ReportSection } from '../report/html.ts';
import { metricsTableBlock } from '../report/metrics-table.ts';
import { lineChart } from '../report/specs.ts';
import type { EvaluationResult } from './evaluate.ts';

/** Most misclassified images shown (the most confident mistakes first). */
export const MAX_MISCLASSIFIED_SHOWN = 60;

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

function confusionSpec(m: ThresholdMetrics): TopLevelSpec {
  const c = m.confusion;
  const values = [
    { truth: 'PNEUMONIA', predicted: 'PNEUMONIA', count: c.tp },
    { truth: 'PNEUMONIA', predicted: 'NORMAL', count: c.fn },
    { truth: 'NORMAL', predicted: 'PNEUMONIA', count: c.fp },
    { truth: 'NORMAL', predicted: 'NORMAL', count: c.tn },
  ];
  const maxCount = Math.max(...values.map((v) => v.count));
  return {
    title: `Confusion matrix at threshold ${fmt(m.threshold)}`,
    width: 220,
    height: 220,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: ['NORMAL', 'PNEUMONIA'], axis: { labelAngle: 0 } },
      y: { field: 'truth', type: 'nominal', sort: ['NORMAL', 'PNEUMONIA'] },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', legend: null } } },
      {
        mark: { type: 'text', fontSize: 18, fontWeight: 'bold' },
        encoding: {
          text: { field: 'count' },
          // Light text on the dark (large-count) cells, dark text elsewhere.
          color: { condition: { test: `datum.count > ${maxCount / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** A curve plus the chance / perfect-calibration diagonal. */
/** Layers a dashed y = x reference line (chance for ROC, perfect calibration for reliability) under a curve. */
function curveWithDiagonal(spec: TopLevelSpec, x: string, y: string): TopLevelSpec {
  const diagonal = [
    { [x]: 0, [y]: 0 },
    { [x]: 1, [y]: 1 },
  ];
  const { title, width, height, ...curve } = spec as TopLevelSpec & {
    title: string;
    width: number;
    height: number;
  };
  return {
    title,
    width,
    height,
    layer: [
      curve,
      {
        data: { values: diagonal },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: x, type: 'quantitative' }, y: { field: y, type: 'quantitative' } },
      },
    ],
  } as unknown as TopLevelSpec;
}

function rocSpec(labels: Uint8Array, probabilities: Float32Array, auc: number): TopLevelSpec {
  const roc = rocCurve(labels, probabilities);
  const data = roc.fpr.map((fpr, i) => ({ fpr, tpr: roc.tpr[i] }));
  const spec = lineChart({
    title: `ROC curve (AUC ${fmt(auc)})`,
    data,
    x: 'fpr',
    y: 'tpr',
    xTitle: '1 − specificity',
    yTitle: 'sensitivity',
    yDomain: [0, 1],
    width: 280,
    height: 280,
  });
  return curveWithDiagonal(spec, 'fpr', 'tpr');
}

function prSpec(labels: Uint8Array, probabilities: Float32Array, ap: number): TopLevelSpec {
  const pr = prCurve(labels, probabilities);
  return lineChart({
    title: `Precision-recall curve (AP ${fmt(ap)})`,
    data: pr.recall.map((recall, i) => ({ recall, precision: pr.precision[i] })),
    x: 'recall',
    y: 'precision',
    yDomain: [0, 1],
    width: 280,
    height: 280,
  });
}

function reliabilitySpec(labels: Uint8Array, probabilities: Float32Array, ece: number): TopLevelSpec {
  const bins = reliabilityBins(labels, probabilities).filter((b) => b.count > 0);
  const spec = lineChart({
    title: `Reliability diagram (ECE ${fmt(ece)})`,
    data: bins.map((b) => ({ predicted: b.meanProbability, observed: b.positiveFraction, images: b.count })),
    x: 'predicted',
    y: 'observed',
    xTitle: 'mean predicted P(PNEUMONIA)',
    yTitle: 'fraction PNEUMONIA',
    yDomain: [0, 1],
    width: 280,
    height: 280,
  });
  return curveWithDiagonal(spec, 'predicted', 'observed');
}

async function misclassifiedFigures(result: EvaluationResult): Promise<{ figures: Figure[]; total: number }> {
  const { records, probabilities, pixels, metrics } = result;
  const size = result.metadata.preprocessing.imageSize;
  const area = size * size;
  const wrong = records
    .map((r, i) => ({ r, i, p: probabilities[i] }))
    .filter(({ r, p }) => (p >= metrics.threshold ? 1 : 0) !== r.labelIndex)
    .sort((a, b) => Math.abs(b.p - metrics.threshold) - Math.abs(a.p - metrics.threshold));
  const figures: Figure[] = [];
  for (const { r, i, p } of wrong.slice(0, MAX_MISCLASSIFIED_SHOWN)) {
    const png = await encodeGrayPng({
      width: size,
      height: size,
      data: pixels.subarray(i * area, (i + 1) * area),
    });
    figures.push({
      kind: 'image',
      png,
      width: 128,
      alt: `${r.label} image scored ${fmt(p)}`,
      caption: `${path.basename(r.path)} — ${r.label}, P(PNEUMONIA) ${fmt(p)}`,
    });
  }
  return { figures, total: wrong.length };
}

async function curveFigures(result: EvaluationResult): Promise<Figure[]> {
  const labels = Uint8Array.from(result.records, (r) => r.labelIndex);
  const { metrics, probabilities } = result;
  const specs: [TopLevelSpec, string][] = [[confusionSpec(metrics), 'confusion matrix']];
  // Curves need both classes; a one-class folder gets the matrix and the reliability diagram only.
  if (Number.isFinite(metrics.rocAuc)) {
    specs.push([rocSpec(labels, probabilities, metrics.rocAuc), 'ROC curve']);
    specs.push([prSpec(labels, probabilities, metrics.prAuc), 'precision-recall curve']);
  }
  specs.push([reliabilitySpec(labels, probabilities, metrics.ece), 'reliability diagram']);
  const figures: Figure[] = [];
  for (const [spec, alt] of specs) figures.push({ kind: 'chart', chart: await renderChart(spec), alt });
  return figures;
}

export async function buildEvaluationReport(result: EvaluationResult, dataDir: string): Promise<string> {
  const { metrics, metadata } = result;
  const misclassified = await misclassifiedFigures(result);
  const sections: ReportSection[] = [
    {
      heading: 'Summary',
      blocks: [
        {
          kind: 'keyValues',
          entries: [
            ['model', `${metadata.name} (${metadata.architecture}, ${metadata.preprocessing.imageSize} px)`],
            ['images scored', metrics.n],
            ['split', result.split],
            ['threshold', `${fmt(metrics.threshold, 4)} (${metadata.thresholdRule})`],
            ['calibration', describeCalibration(metadata.calibration)],
          ],
        },
        ...result.warnings
          .slice(0, 20)
          .map((text) => ({ kind: 'note' as const, text, tone: 'warning' as const })),
      ],
    },
    { heading: 'Metrics at the stored threshold', blocks: [metricsTableBlock(metrics)] },
    { heading: 'Metrics at 0.5', blocks: [metricsTableBlock(metrics.atHalf)] },
    { heading: 'Curves', blocks: [{ kind: 'figures', items: await curveFigures(result) }] },
    {
      heading: 'Misclassified images',
      blocks: [
        {
          kind: 'paragraph',
          text:
            `${misclassified.total} image(s) fall on the wrong side of the threshold` +
            (misclassified.total > misclassified.figures.length
              ? `; the ${misclassified.figures.length} most confident mistakes are shown.`
              : '.') +
            ' Thumbnails are the model-size inputs.',
        },
        ...(misclassified.figures.length > 0
          ? [{ kind: 'figures' as const, items: misclassified.figures }]
          : []),
      ],
    },
  ];
  return htmlReport({
    title: `Evaluation: ${metadata.name}`,
    subtitle: `${dataDir} (${result.split})`,
    sections,
  });
}
