/**
 * Turns an `ExploreResult` into files: `report.html` (self-contained), `summary.json`, and every chart as PNG and
 * SVG under `charts/`, mean and sample images as PNG under `images/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeGrayPng } from '../data/decode.ts';
import type { ExploreResult, ExploreSummary, SummaryDuplicateGroup } from '../data/explore.ts';
import type { HistogramBin } from '../data/stats.ts';
import { histogramBins } from '../data/stats.ts';
import { CLASS_NAMES, type ClassName } from '../data/types.ts';
import { type RenderedChart, renderChart, saveChart, type TopLevelSpec } from './chart.ts';
import { type Cell, type Figure, htmlReport, type ReportBlock, type ReportSection } from './html.ts';
import { barChart, type Datum, histogram, pieChart } from './specs.ts';

/** Rows shown per table in the HTML; summary.json always has the complete lists. */
const MAX_TABLE_ROWS = 100;
const INTENSITY_BIN = 8;

export interface ExploreReportFiles {
  reportPath: string;
  summaryPath: string;
  /** Every PNG/SVG written, relative to the output folder. */
  files: string[];
}

type ChartName = string;

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

function chartSpecs(result: ExploreResult): Record<ChartName, TopLevelSpec> {
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

function chartFigure(charts: Record<ChartName, RenderedChart>, name: ChartName, alt: string): Figure {
  return { kind: 'chart', chart: charts[name], alt };
}

function duplicateRows(groups: SummaryDuplicateGroup[]): Cell[][] {
  return groups
    .slice(0, MAX_TABLE_ROWS)
    .map((g, i) => [
      i + 1,
      g.files.map((f) => f.path).join('\n'),
      [...new Set(g.files.map((f) => f.split))].join(', '),
      g.crossSplit ? 'yes' : 'no',
      g.labelConflict ? 'yes' : 'no',
    ]);
}

function truncationNote(total: number): ReportBlock[] {
  return total > MAX_TABLE_ROWS
    ? [{ kind: 'note', text: `Showing ${MAX_TABLE_ROWS} of ${total}; summary.json lists all.` }]
    : [];
}

function countsSections(result: ExploreResult, charts: Record<ChartName, RenderedChart>): ReportSection[] {
  const { summary } = result;
  const splits = Object.keys(summary.images) as (keyof ExploreSummary['images'])[];
  const pies = splits.map((s) =>
    chartFigure(charts, `images-pie-${s}`, `Pie chart of images per class in ${s}`),
  );
  const ipp = summary.patients.imagesPerPatientSummary;
  return [
    {
      heading: 'Images per split and class',
      blocks: [
        {
          kind: 'table',
          columns: ['split', ...CLASS_NAMES, 'total', '% PNEUMONIA'],
          rows: splits.map((s) => {
            const c = summary.images[s]!;
            return [
              s,
              ...CLASS_NAMES.map((k) => c[k]),
              c.total,
              c.total ? `${((100 * c.PNEUMONIA) / c.total).toFixed(1)}%` : null,
            ];
          }),
        },
        {
          kind: 'figures',
          items: [
            chartFigure(charts, 'images-per-split', 'Bar chart of images per split and class'),
            ...pies,
          ],
        },
      ],
    },
    {
      heading: 'Patients',
      blocks: [
        {
          kind: 'paragraph',
          text: 'Patient IDs come from the file names (personN_…, IM-NNNN-…, NORMAL2-IM-NNNN-…).',
        },
        {
          kind: 'table',
          columns: ['class', 'patients', 'min images', 'median', 'mean', 'max images'],
          rows: CLASS_NAMES.map((c) => [
            c,
            summary.patients.total[c],
            ipp[c].min,
            ipp[c].median,
            ipp[c].mean,
            ipp[c].max,
          ]),
        },
        {
          kind: 'figures',
          items: [
            chartFigure(charts, 'patients-per-class', 'Bar chart of patients per split and class'),
            chartFigure(charts, 'images-per-patient', 'Bar chart of the number of images per patient'),
          ],
        },
        summary.patients.crossSplit.count > 0
          ? {
              kind: 'note',
              tone: 'warning',
              text: `${summary.patients.crossSplit.count} patient(s) have images in more than one split: ${summary.patients.crossSplit.list
                .slice(0, 20)
                .map((p) => `${p.patientId} (${p.splits.join(', ')})`)
                .join('; ')}${summary.patients.crossSplit.count > 20 ? '; …' : ''}`,
            }
          : { kind: 'note', text: 'No patient has images in more than one split.' },
      ],
    },
    {
      heading: 'Pneumonia subtypes',
      blocks: [
        {
          kind: 'table',
          columns: ['split', 'bacteria', 'virus', 'unknown'],
          rows: Object.entries(summary.subtypes).map(([s, c]) => [s, c.bacteria, c.virus, c.unknown]),
        },
        chartFigure(charts, 'subtypes', 'Bar chart of pneumonia subtypes per split'),
      ],
    },
  ];
}

/** Constant sizes mean the files were resized upstream; say so instead of leaving one-bar histograms unexplained. */
function sameSizeNote(d: ExploreSummary['dimensions']): ReportBlock[] {
  if (d.width.min !== d.width.max || d.height.min !== d.height.max) return [];
  return [
    {
      kind: 'note',
      text: `Every image is ${d.width.min} x ${d.height.min} px: the files were resized before they got here, so the original sizes are unknown.`,
    },
  ];
}

function imageSections(
  result: ExploreResult,
  charts: Record<ChartName, RenderedChart>,
  pngs: Record<string, Buffer>,
) {
  const { summary } = result;
  const d = summary.dimensions;
  const dimRow = (name: string, s: typeof d.width): Cell[] => [name, s.min, s.median, s.mean, s.max];
  const sections: ReportSection[] = [
    {
      heading: 'Image dimensions',
      blocks: [
        {
          kind: 'table',
          columns: ['', 'min', 'median', 'mean', 'max'],
          rows: [
            dimRow('width (px)', d.width),
            dimRow('height (px)', d.height),
            dimRow('aspect ratio', d.aspect),
          ],
        },
        ...sameSizeNote(d),
        {
          kind: 'figures',
          items: [
            chartFigure(charts, 'width', 'Histogram of original widths'),
            chartFigure(charts, 'height', 'Histogram of original heights'),
            chartFigure(charts, 'aspect-ratio', 'Histogram of aspect ratios'),
          ],
        },
      ],
    },
    {
      heading: 'Pixel intensity',
      blocks: [
        {
          kind: 'table',
          columns: ['class', 'images', 'mean grey level', 'std'],
          rows: CLASS_NAMES.map((c) => [
            c,
            summary.intensity[c].images,
            summary.intensity[c].mean,
            summary.intensity[c].std,
          ]),
        },
        chartFigure(charts, 'intensity', 'Histogram of grey levels per class'),
      ],
    },
  ];
  const figures = (prefix: string, what: string, width: number): Figure[] =>
    CLASS_NAMES.filter((c) => pngs[`${prefix}-${c}`]).map((c) => ({
      kind: 'image',
      png: pngs[`${prefix}-${c}`],
      alt: `${what} ${c}`,
      caption: c,
      width,
    }));
  sections.push(
    {
      heading: 'Mean image per class',
      blocks: [{ kind: 'figures', items: figures('mean', 'Mean image of class', 256) }],
    },
    {
      heading: 'Sample images per class',
      blocks: [
        {
          kind: 'paragraph',
          text: `Randomly chosen (seed 42), shown at the ${summary.imageSize}px analysis size.`,
        },
        { kind: 'figures', items: figures('samples', 'Sample images of class', 512) },
      ],
    },
  );
  return sections;
}

function qualitySections(summary: ExploreSummary): ReportSection[] {
  const { exact, near } = summary.duplicates;
  const columns = ['#', 'files', 'splits', 'across splits', 'label conflict'];
  const leak = exact.crossSplitGroups + near.crossSplitGroups;
  return [
    {
      heading: 'Duplicates and leakage',
      blocks: [
        leak > 0
          ? {
              kind: 'note',
              tone: 'warning',
              text: `${leak} duplicate group(s) cross splits: evaluation on them measures memory, not skill.`,
            }
          : { kind: 'note', text: 'No duplicate crosses splits.' },
        {
          kind: 'keyValues',
          entries: [
            ['exact duplicate groups', exact.groups],
            ['extra copies', exact.extraCopies],
            ['exact groups across splits', exact.crossSplitGroups],
            ['exact groups with conflicting labels', exact.labelConflictGroups],
            ['near-duplicate groups', near.groups],
            ['near groups across splits', near.crossSplitGroups],
            ['near-duplicate method', near.method],
            ['near-duplicate threshold (bits)', near.threshold],
            [
              'nearest-neighbour distance, 1st / 5th / 50th percentile',
              `${near.nearestDistance.p1} / ${near.nearestDistance.p5} / ${near.nearestDistance.median}`,
            ],
          ],
        },
        {
          kind: 'table',
          caption: 'Exact duplicates (identical bytes)',
          columns,
          rows: duplicateRows(exact.list),
        },
        ...truncationNote(exact.list.length),
        {
          kind: 'table',
          caption: 'Near-duplicates (perceptual hash)',
          columns,
          rows: duplicateRows(near.list),
        },
        ...truncationNote(near.list.length),
      ],
    },
    {
      heading: 'Unreadable files',
      blocks: [
        summary.badFiles.count === 0
          ? { kind: 'paragraph', text: 'Every file was read and decoded.' }
          : {
              kind: 'table',
              columns: ['file', 'reason'],
              rows: summary.badFiles.list.slice(0, MAX_TABLE_ROWS).map((b) => [b.path, b.reason]),
            },
        ...truncationNote(summary.badFiles.count),
      ],
    },
  ];
}

function overview(summary: ExploreSummary): ReportSection {
  return {
    heading: 'Overview',
    blocks: [
      {
        kind: 'keyValues',
        entries: [
          ['dataset', summary.dataRoot],
          ['layout', summary.layout === 'splits' ? 'split folders (train/val/test)' : 'class folders only'],
          ['files found', summary.totals.files],
          ['usable images', summary.totals.images],
          ['unreadable files', summary.totals.badFiles],
          ['patients', summary.totals.patients],
          ...CLASS_NAMES.map((c): [string, Cell] => [`${c} images`, summary.classTotals[c]]),
          ['analysis size', `${summary.imageSize} x ${summary.imageSize} grey`],
        ],
      },
    ],
  };
}

/** Renders everything and writes it under `outDir` (created if needed). */
export async function writeExploreReport(result: ExploreResult, outDir: string): Promise<ExploreReportFiles> {
  const files: string[] = [];
  const specs = chartSpecs(result);
  const rendered = await Promise.all(
    Object.entries(specs).map(async ([name, spec]) => [name, await renderChart(spec)] as const),
  );
  const charts = Object.fromEntries(rendered) as Record<ChartName, RenderedChart>;
  for (const [name, chart] of rendered) {
    await saveChart(path.join(outDir, 'charts'), name, chart);
    files.push(`charts/${name}.png`, `charts/${name}.svg`);
  }
  const pngs: Record<string, Buffer> = {};
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  for (const c of CLASS_NAMES) {
    for (const [prefix, image] of [
      ['mean', result.meanImages[c]],
      ['samples', result.sampleGrids[c]],
    ] as const) {
      if (!image) continue;
      const png = await encodeGrayPng(image);
      pngs[`${prefix}-${c}`] = png;
      await writeFile(path.join(outDir, 'images', `${prefix}-${c}.png`), png);
      files.push(`images/${prefix}-${c}.png`);
    }
  }
  const html = htmlReport({
    title: 'Pneumoscope dataset exploration',
    subtitle: result.summary.dataRoot,
    generatedAt: new Date(result.summary.generatedAt),
    sections: [
      overview(result.summary),
      ...countsSections(result, charts),
      ...imageSections(result, charts, pngs),
      ...qualitySections(result.summary),
    ],
  });
  const reportPath = path.join(outDir, 'report.html');
  const summaryPath = path.join(outDir, 'summary.json');
  await writeFile(reportPath, html);
  await writeFile(summaryPath, `${JSON.stringify(result.summary, null, 2)}\n`);
  return { reportPath, summaryPath, files };
}
