/** The explore report's first sections: overview, images per split and class, patients, pneumonia subtypes. */
import { CLASS_NAMES } from '../core/types.ts';
import type { Cell, ReportSection } from '../report/html.ts';
import type { ExploreResult, ExploreSummary } from './explore.ts';
import { chartFigure, type ReportCharts } from './report-charts.ts';

export function overviewSection(summary: ExploreSummary): ReportSection {
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

/**
 * Patient IDs shared by two splits usually mean leakage, unless no image is duplicated across those splits: then
 * the dataset may simply number its patients per split (person1 in train and person1 in test being different
 * children), and the overlap says nothing.
 */
function crossSplitCaveat(summary: ExploreSummary): ReportSection['blocks'] {
  const { exact, near } = summary.duplicates;
  if (summary.patients.crossSplit.count === 0 || exact.crossSplitGroups + near.crossSplitGroups > 0)
    return [];
  return [
    {
      kind: 'note',
      text:
        'Caveat: no image is duplicated across splits, so the shared patient IDs below may be different people. ' +
        'IDs come from file names, and a dataset may restart its numbering in each split.',
    },
  ];
}

export function countsSections(result: ExploreResult, charts: ReportCharts): ReportSection[] {
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
            Number.isFinite(ipp[c].mean) ? Number(ipp[c].mean.toFixed(2)) : ipp[c].mean,
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
        ...crossSplitCaveat(summary),
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
