/** The explore report's data-quality sections: duplicates (and the leakage they cause) and unreadable files. */
import type { Cell, ReportBlock, ReportSection } from '../report/html.ts';
import type { ExploreSummary, SummaryDuplicateGroup } from './explore.ts';

/** Rows shown per table in the HTML; summary.json always has the complete lists. */
const MAX_TABLE_ROWS = 100;

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

/** A table of duplicate groups, or one line saying none were found (an empty table reads as broken). */
function duplicateTable(caption: string, groups: SummaryDuplicateGroup[]): ReportBlock {
  if (groups.length === 0) return { kind: 'paragraph', text: `${caption}: none found.` };
  return {
    kind: 'table',
    caption,
    columns: ['#', 'files', 'splits', 'across splits', 'label conflict'],
    rows: duplicateRows(groups),
  };
}

export function qualitySections(summary: ExploreSummary): ReportSection[] {
  const { exact, near } = summary.duplicates;
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
        duplicateTable('Exact duplicates (identical bytes)', exact.list),
        ...truncationNote(exact.list.length),
        duplicateTable('Near-duplicates (perceptual hash)', near.list),
        ...truncationNote(near.list.length),
      ],
    },
    {
      heading: 'Images the input gate would reject',
      blocks: [
        {
          kind: 'paragraph',
          text:
            `The gate's cheap checks (${summary.gate.checks}; docs/input-gate.md) on every image. A training set ` +
            'should hold none of these: each one is either not a chest X-ray or one the model cannot read.',
        },
        summary.gate.count === 0
          ? { kind: 'note', text: 'No image fails the cheap checks.' }
          : {
              kind: 'table',
              columns: ['file', 'check', 'reason'],
              rows: summary.gate.list.slice(0, MAX_TABLE_ROWS).map((g) => [g.path, g.check, g.reason]),
            },
        ...truncationNote(summary.gate.count),
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
