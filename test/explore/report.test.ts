/** The explore report's wording: empty tables, the cross-split patient caveat, one-size datasets, rounding. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type ExploreResult, exploreDataset } from '../../src/explore/explore.ts';
import { countsSections } from '../../src/explore/report-counts.ts';
import { imageSections } from '../../src/explore/report-images.ts';
import { qualitySections } from '../../src/explore/report-quality.ts';
import type { ReportSection } from '../../src/report/html.ts';

let result: ExploreResult;

before(async () => {
  result = await exploreDataset({ dataDir: 'test/fixtures/dataset', cacheDir: null });
});

const text = (sections: ReportSection[]) => JSON.stringify(sections);

/** The fixture's summary with no duplicates at all. */
function withoutDuplicates(r: ExploreResult): ExploreResult {
  const summary = structuredClone(r.summary);
  for (const kind of ['exact', 'near'] as const) {
    summary.duplicates[kind].list = [];
    summary.duplicates[kind].groups = 0;
    summary.duplicates[kind].crossSplitGroups = 0;
  }
  return { ...r, summary };
}

test('empty duplicate tables say "none found"', () => {
  const sections = qualitySections(withoutDuplicates(result).summary);
  assert.match(text(sections), /Exact duplicates \(identical bytes\): none found\./);
  assert.match(text(sections), /Near-duplicates \(perceptual hash\): none found\./);
  assert.doesNotMatch(text(qualitySections(result.summary)), /none found/);
});

test('shared patient IDs get a caveat only when no image is duplicated across splits', () => {
  assert.ok(result.summary.patients.crossSplit.count > 0);
  assert.doesNotMatch(text(countsSections(result, {})), /Caveat/);
  assert.match(
    text(countsSections(withoutDuplicates(result), {})),
    /Caveat: no image is duplicated across splits/,
  );
});

test('size histograms are left out when every image has one size; numbers are rounded', () => {
  const varied = text(imageSections(result, {}, {}));
  assert.match(varied, /Histogram of original widths/);
  const summary = structuredClone(result.summary);
  summary.dimensions.width = { min: 224, max: 224, mean: 224, median: 224 };
  summary.dimensions.height = { min: 224, max: 224, mean: 224, median: 224 };
  const same = text(imageSections({ ...result, summary }, {}, {}));
  assert.doesNotMatch(same, /Histogram of original widths/);
  assert.match(same, /Every image is 224 x 224 px/);
  // Means of grey levels to one decimal, aspect ratios to two.
  const blocks = imageSections(result, {}, {}).flatMap((s) => s.blocks);
  const tables = blocks.filter((b) => b.kind === 'table') as { rows: unknown[][] }[];
  for (const value of tables.flatMap((t) => t.rows.flat())) {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      assert.ok(String(value).split('.')[1].length <= 2, `${value} is rounded`);
    }
  }
});
