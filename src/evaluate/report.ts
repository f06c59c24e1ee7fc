/**
 * The evaluation report, one self-contained HTML file: the metrics at the stored threshold, a per-class table
 * with support, the threshold-dependent rates at 0.5, the confusion matrix, ROC (with the operating point), PR
 * (with the prevalence a random ranking would reach) and reliability curves, then the mistakes: missed
 * pneumonias first, then false positives, each with its Grad-CAM overlay.
 */
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { formatProbability } from '../core/format.ts';
import { renderOverlay } from '../explain/overlay.ts';
import { reliabilityBins } from '../metrics/calibration.ts';
import { perClassReport } from '../metrics/per-class.ts';
import { prCurve } from '../metrics/pr.ts';
import { rocCurve } from '../metrics/roc.ts';
import type { ThresholdMetrics } from '../metrics/summary.ts';
import { describeCalibration } from '../model/metadata.ts';
import { formatTta } from '../model/tta.ts';
import { renderChart } from '../report/chart.ts';
import { type Figure, htmlReport, type ReportSection } from '../report/html.ts';
import { metricsTableBlock } from '../report/metrics-table.ts';
import { lineChart } from '../report/specs.ts';
import { type EvaluationResult, MAX_MISTAKES_SHOWN, type Mistake } from './evaluate.ts';

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

/** A labelled point layer (the operating point) for a chart whose axes are `x` and `y`. */
function markerLayer(x: string, y: string, point: Record<string, number>, label: string): object {
  return {
    data: { values: [{ ...point, label }] },
    encoding: { x: { field: x, type: 'quantitative' }, y: { field: y, type: 'quantitative' } },
    layer: [
      { mark: { type: 'point', shape: 'diamond', size: 140, filled: true, color: '#b4341c' } },
      {
        mark: { type: 'text', align: 'left', dx: 8, dy: 10, fontSize: 11, color: '#b4341c' },
        encoding: { text: { field: 'label' } },
      },
    ],
  };
}

function withLayer(spec: TopLevelSpec, layer: object): TopLevelSpec {
  const s = spec as unknown as { layer: object[] };
  return { ...spec, layer: [...s.layer, layer] } as unknown as TopLevelSpec;
}

function rocSpec(labels: Uint8Array, probabilities: Float32Array, m: ThresholdMetrics): TopLevelSpec {
  const roc = rocCurve(labels, probabilities);
  const data = roc.fpr.map((fpr, i) => ({ fpr, tpr: roc.tpr[i] }));
  const auc = m.rocAuc;
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
  const operating = markerLayer(
    'fpr',
    'tpr',
    { fpr: 1 - m.specificity, tpr: m.sensitivity },
    `threshold ${(m.threshold * 100).toFixed(1)}%`,
  );
  return withLayer(curveWithDiagonal(spec, 'fpr', 'tpr'), operating);
}

function prSpec(labels: Uint8Array, probabilities: Float32Array, m: ThresholdMetrics): TopLevelSpec {
  const pr = prCurve(labels, probabilities);
  const prevalence = labels.reduce((a, b) => a + b, 0) / labels.length;
  const { title, width, height, ...curve } = lineChart({
    title: `Precision-recall curve (AP ${fmt(m.prAuc)})`,
    data: pr.recall.map((recall, i) => ({ recall, precision: pr.precision[i] })),
    x: 'recall',
    y: 'precision',
    yDomain: [0, 1],
    width: 280,
    height: 280,
  }) as TopLevelSpec & { title: string; width: number; height: number };
  // A classifier that ranks at random has precision = prevalence at every recall.
  const baseline = {
    data: {
      values: [{ precision: prevalence, label: `prevalence ${(prevalence * 100).toFixed(0)}% (random)` }],
    },
    layer: [
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { y: { field: 'precision', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', x: 4, dy: -7, fontSize: 11, color: '#666' },
        encoding: { y: { field: 'precision', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
  const operating = markerLayer(
    'recall',
    'precision',
    { recall: m.sensitivity, precision: m.precision },
    `threshold ${(m.threshold * 100).toFixed(1)}%`,
  );
  return { title, width, height, layer: [curve, baseline, operating] } as unknown as TopLevelSpec;
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

/** One mistake as a Grad-CAM thumbnail (the plain model input when there is no map), captioned truth / predicted. */
async function mistakeFigure(result: EvaluationResult, mistake: Mistake): Promise<Figure> {
  const size = result.metadata.preprocessing.imageSize;
  const area = size * size;
  const record = result.records[mistake.index];
  const p = result.probabilities[mistake.index];
  const image = {
    width: size,
    height: size,
    data: result.pixels.subarray(mistake.index * area, (mistake.index + 1) * area),
  };
  const cam = mistake.cam ?? { width: 1, height: 1, data: new Float32Array(1) };
  const png = await renderOverlay({ image, cam });
  const [negative, positive] = result.metadata.classNames;
  const predicted = mistake.kind === 'missed' ? `${negative} (not flagged)` : `${positive} (flagged)`;
  return {
    kind: 'image',
    png,
    width: 160,
    alt: `${record.label} image scored ${formatProbability(p)}${mistake.cam ? ', with its Grad-CAM overlay' : ''}`,
    caption: `${path.basename(record.path)}\ntruth ${record.label} / predicted ${predicted}\nP ${formatProbability(p)}`,
  };
}

async function mistakeSection(
  result: EvaluationResult,
  kind: Mistake['kind'],
  heading: string,
  total: number,
  order: string,
): Promise<ReportSection> {
  const shown = result.mistakes.filter((m) => m.kind === kind);
  const figures: Figure[] = [];
  for (const mistake of shown) figures.push(await mistakeFigure(result, mistake));
  const count =
    total === 0
      ? 'None.'
      : `${total} image(s)` +
        (total > shown.length ? `; the ${shown.length} most confident are shown, ${order}.` : `, ${order}.`);
  return {
    heading,
    blocks: [
      { kind: 'paragraph', text: count },
      ...(figures.length > 0 ? [{ kind: 'figures' as const, items: figures }] : []),
    ],
  };
}

/** scikit-learn's classification_report as a table. */
function perClassBlock(result: EvaluationResult): ReportSection['blocks'][number] {
  const [negative, positive] = result.metadata.classNames;
  const report = perClassReport(result.metrics.confusion, [negative, positive]);
  const cells = (r: { precision: number; recall: number; f1: number; support: number }) => [
    fmt(r.precision),
    fmt(r.recall),
    fmt(r.f1),
    r.support,
  ];
  return {
    kind: 'table',
    columns: ['class', 'precision', 'recall', 'F1', 'support'],
    rows: [
      ...report.classes.map((r) => [r.name, ...cells(r)]),
      ['accuracy', '', '', fmt(report.accuracy), report.weighted.support],
      [report.macro.name, ...cells(report.macro)],
      [report.weighted.name, ...cells(report.weighted)],
    ],
    caption:
      `At the stored threshold (${(result.metrics.threshold * 100).toFixed(1)}%). ${positive}: recall is the ` +
      `sensitivity; ${negative}: precision is the NPV and recall the specificity. Support: images of that class.`,
  };
}

async function curveFigures(result: EvaluationResult): Promise<Figure[]> {
  const labels = Uint8Array.from(result.records, (r) => r.labelIndex);
  const { metrics, probabilities } = result;
  const specs: [TopLevelSpec, string][] = [[confusionSpec(metrics), 'confusion matrix']];
  // Curves need both classes; a one-class folder gets the matrix and the reliability diagram only.
  if (Number.isFinite(metrics.rocAuc)) {
    specs.push([rocSpec(labels, probabilities, metrics), 'ROC curve with the operating point']);
    specs.push([
      prSpec(labels, probabilities, metrics),
      'precision-recall curve with the prevalence baseline',
    ]);
  }
  specs.push([reliabilitySpec(labels, probabilities, metrics.ece), 'reliability diagram']);
  const figures: Figure[] = [];
  for (const [spec, alt] of specs) figures.push({ kind: 'chart', chart: await renderChart(spec), alt });
  return figures;
}

export async function buildEvaluationReport(result: EvaluationResult, dataDir: string): Promise<string> {
  const { metrics, metadata, mistakeCounts } = result;
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
            [
              'flagged at',
              `≥ ${(metrics.threshold * 100).toFixed(1)}% (${fmt(metrics.threshold, 4)}, ${metadata.thresholdRule})`,
            ],
            ['calibration', describeCalibration(metadata.calibration)],
            ['test-time augmentation', result.tta ? formatTta(result.tta) : 'none (the images as they are)'],
            ['missed pneumonias', mistakeCounts.missed],
            ['false positives', mistakeCounts.falsePositive],
          ],
        },
        ...result.warnings
          .slice(0, 20)
          .map((text) => ({ kind: 'note' as const, text, tone: 'warning' as const })),
      ],
    },
    {
      heading: 'Metrics at the stored threshold',
      blocks: [metricsTableBlock(metrics), perClassBlock(result)],
    },
    {
      heading: 'At a threshold of 0.5',
      blocks: [
        metricsTableBlock(metrics.atHalf, { thresholdFree: false }),
        {
          kind: 'paragraph',
          text: 'For comparison with other models’ defaults. ROC-AUC, PR-AUC, log-loss, Brier and ECE do not depend on the threshold: see above.',
        },
      ],
    },
    { heading: 'Curves', blocks: [{ kind: 'figures', items: await curveFigures(result) }] },
    await mistakeSection(
      result,
      'missed',
      'Missed pneumonias (false negatives)',
      mistakeCounts.missed,
      'lowest probability first',
    ),
    await mistakeSection(
      result,
      'false-positive',
      'False positives',
      mistakeCounts.falsePositive,
      'highest probability first',
    ),
    {
      heading: 'Reading the thumbnails',
      blocks: [
        {
          kind: 'paragraph',
          text:
            `Each thumbnail is the model-size input with its Grad-CAM overlay (at most ${MAX_MISTAKES_SHOWN} of ` +
            'each kind). Warm colours raised the score; the map is scaled per image, so every image has a hot ' +
            'spot. It is not an outline of disease.',
        },
      ],
    },
  ];
  return htmlReport({
    title: `Evaluation: ${metadata.name}`,
    subtitle: `${dataDir} (${result.split})`,
    sections,
  });
}
