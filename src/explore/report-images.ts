/** The explore report's image sections: original dimensions, grey levels, mean images and samples per class. */
import { CLASS_NAMES } from '../core/types.ts';
import type { Cell, Figure, ReportBlock, ReportSection } from '../report/html.ts';
import type { ExploreResult, ExploreSummary } from './explore.ts';
import { chartFigure, type ReportCharts } from './report-charts.ts';

/** True when every image has the same width and height (the files were resized upstream). */
function allSameSize(d: ExploreSummary['dimensions']): boolean {
  return d.width.min === d.width.max && d.height.min === d.height.max;
}

/** Rounds for reading: `digits` decimals, NaN kept (shown as is). */
function round(x: number, digits: number): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
}

/** Constant sizes mean the files were resized upstream; say so instead of showing one-bar histograms. */
function sameSizeNote(d: ExploreSummary['dimensions']): ReportBlock[] {
  if (!allSameSize(d)) return [];
  return [
    {
      kind: 'note',
      text: `Every image is ${d.width.min} x ${d.height.min} px: the files were resized before they got here, so the original sizes are unknown.`,
    },
  ];
}

export function imageSections(result: ExploreResult, charts: ReportCharts, pngs: Record<string, Buffer>) {
  const { summary } = result;
  const d = summary.dimensions;
  // Pixels are whole numbers; an aspect ratio reads to two decimals.
  const dimRow = (name: string, s: typeof d.width, digits = 0): Cell[] => [
    name,
    round(s.min, digits),
    round(s.median, digits),
    round(s.mean, digits),
    round(s.max, digits),
  ];
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
            dimRow('aspect ratio', d.aspect, 2),
          ],
        },
        ...sameSizeNote(d),
        ...(allSameSize(d)
          ? []
          : [
              {
                kind: 'figures' as const,
                items: [
                  chartFigure(charts, 'width', 'Histogram of original widths'),
                  chartFigure(charts, 'height', 'Histogram of original heights'),
                  chartFigure(charts, 'aspect-ratio', 'Histogram of aspect ratios'),
                ],
              },
            ]),
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
            round(summary.intensity[c].mean, 1),
            round(summary.intensity[c].std, 1),
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
