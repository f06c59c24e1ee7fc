/** The explore report's charts: one Vega-Lite spec per name, rendered once and shared by the sections. */
import { CLASS_NAMES, type ClassName } from '../core/types.ts';
import type { RenderedChart, TopLevelSpec } from '../report/chart.ts';
import type { Figure } from '../report/html.ts';
import { barChart, type Datum, histogram, pieChart } from '../report/specs.ts';
import type { ExploreResult, ExploreSummary } from './explore.ts';
import { type HistogramBin, histogramBins } from './stats.ts';

const INTENSITY_BIN = 8;

export type ChartName = string;
/** Every rendered chart of the report, by name. */
export type ReportCharts = Record<ChartName, RenderedChart>;

function binsAsRows(bins: HistogramBin[], series: string): Datum[] {
  return bins.map((b) => ({ binStart: b.start, binEnd: b.end, count: b.count, class: series }));
}

/** Histogram rows per class over shared bin edges, so the classes line up. */
function classHistogram(byClass: Record<ClassName, number[]>, bins = 24): Datum[] {
  const edges = histogramBins(
    CLASS_NAMES.flatMap((c) => byClass[c]),
    bins,
  );
  if (edges.length === 0) return [];
  const lo = edges[0].start;
  const hi = edges[edges.length - 1].end;
  const width = (hi - lo) / edges.length;
  return CLASS_NAMES.flatMap((c) => {
    const counts = edges.map((e) => ({ ...e, count: 0 }));
    for (const v of byClass[c]) counts[Math.min(counts.length - 1, Math.floor((v - lo) / width))].count++;
    return binsAsRows(counts, c);
  });
}

function intensityRows(summary: ExploreSummary): Datum[] {
  return CLASS_NAMES.flatMap((c) => {
    const h = summary.intensity[c].histogram;
    const total = h.reduce((a, b) => a + b, 0) || 1;
    return Array.from({ length: 256 / INTENSITY_BIN }, (_, i) => {
      const count = h.slice(i * INTENSITY_BIN, (i + 1) * INTENSITY_BIN).reduce((a, b) => a + b, 0);
      return { binStart: i * INTENSITY_BIN, binEnd: (i + 1) * INTENSITY_BIN, count: count / total, class: c };
    });
  });
}

export function chartSpecs(result: ExploreResult): Record<ChartName, TopLevelSpec> {
  const { summary, dimensions } = result;
  const splits = Object.keys(summary.images);
  const perSplit: Datum[] = splits.flatMap((s) =>
    CLASS_NAMES.map((c) => ({ split: s, class: c, images: summary.images[s as 'train']![c] })),
  );
  const specs: Record<ChartName, TopLevelSpec> = {
    'images-per-split': barChart({
      title: 'Images per split and class',
      data: perSplit,
      x: 'split',
      xOrder: splits,
      y: 'images',
      color: 'class',
    }),
  };
  for (const s of splits) {
    specs[`images-pie-${s}`] = pieChart({
      title: `${s}: images per class`,
      data: perSplit.filter((d) => d.split === s),
      category: 'class',
      value: 'images',
    });
  }
  specs['patients-per-class'] = barChart({
    title: 'Patients per split and class',
    data: Object.entries(summary.patients.bySplit).flatMap(([s, counts]) =>
      CLASS_NAMES.map((c) => ({ split: s, class: c, patients: counts[c] })),
    ),
    x: 'split',
    xOrder: splits,
    y: 'patients',
    color: 'class',
  });
  specs['images-per-patient'] = barChart({
    title: 'Images per patient',
    data: CLASS_NAMES.flatMap((c) =>
      summary.patients.imagesPerPatient[c].map((d) => ({ class: c, images: d.images, patients: d.patients })),
    ),
    x: 'images',
    xType: 'ordinal',
    xTitle: 'images per patient',
    y: 'patients',
    color: 'class',
    width: 480,
  });
  specs.subtypes = barChart({
    title: 'Pneumonia subtypes (from file names)',
    data: Object.entries(summary.subtypes).flatMap(([s, counts]) =>
      Object.entries(counts).map(([subtype, images]) => ({ split: s, subtype, images })),
    ),
    x: 'split',
    xOrder: splits,
    y: 'images',
    color: 'subtype',
  });
  const dim = (key: 'width' | 'height' | 'aspect') =>
    Object.fromEntries(CLASS_NAMES.map((c) => [c, dimensions.byClass[c][key]])) as Record<
      ClassName,
      number[]
    >;
  specs.width = histogram({
    title: 'Original width',
    data: classHistogram(dim('width')),
    xTitle: 'width (px)',
    series: 'class',
  });
  specs.height = histogram({
    title: 'Original height',
    data: classHistogram(dim('height')),
    xTitle: 'height (px)',
    series: 'class',
  });
  specs['aspect-ratio'] = histogram({
    title: 'Aspect ratio (width / height)',
    data: classHistogram(dim('aspect')),
    xTitle: 'width / height',
    series: 'class',
  });
  specs.intensity = histogram({
    title: `Grey levels per class (${summary.imageSize}px images)`,
    data: intensityRows(summary),
    xTitle: 'grey level',
    yTitle: 'share of pixels',
    series: 'class',
  });
  return specs;
}

/** A rendered chart as a report figure. */
export function chartFigure(charts: ReportCharts, name: ChartName, alt: string): Figure {
  return { kind: 'chart', chart: charts[name], alt };
}
