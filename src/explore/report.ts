/**
 * Turns an `ExploreResult` into files: `report.html` (self-contained), `summary.json`, and every chart as PNG and
 * SVG under `charts/`, mean and sample images as PNG under `images/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLASS_NAMES } from '../core/types.ts';
import { encodeGrayPng } from '../data/decode.ts';
import { renderChart, saveChart } from '../report/chart.ts';
import { htmlReport } from '../report/html.ts';
import type { ExploreResult } from './explore.ts';
import { chartSpecs, type ReportCharts } from './report-charts.ts';
import { countsSections, overviewSection } from './report-counts.ts';
import { imageSections } from './report-images.ts';
import { qualitySections } from './report-quality.ts';

export interface ExploreReportFiles {
  reportPath: string;
  summaryPath: string;
  /** Every PNG/SVG written, relative to the output folder. */
  files: string[];
}

/** Renders everything and writes it under `outDir` (created if needed). */
export async function writeExploreReport(result: ExploreResult, outDir: string): Promise<ExploreReportFiles> {
  const files: string[] = [];
  const specs = chartSpecs(result);
  const rendered = await Promise.all(
    Object.entries(specs).map(async ([name, spec]) => [name, await renderChart(spec)] as const),
  );
  const charts = Object.fromEntries(rendered) as ReportCharts;
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
      overviewSection(result.summary),
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
