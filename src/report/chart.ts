/**
 * Rendering Vega-Lite charts in Node, without a browser or a canvas package: Vega-Lite compiles to Vega, Vega's
 * headless view writes SVG, and sharp (libvips + librsvg) rasterises the SVG to PNG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec } from 'vega-lite';

/**
 * Fonts for chart text, first one found wins. Liberation Sans has Arial's metrics, which Vega's text-width
 * estimate assumes; DejaVu Sans ships with most Linux systems. Both work offline.
 */
export const CHART_FONT = 'Liberation Sans, DejaVu Sans, Arial, Helvetica, sans-serif';

export interface RenderChartOptions {
  /** PNG pixels per SVG unit (default 2, sharp enough for reports and slides). */
  scale?: number;
}

/** A chart in both forms: SVG text for web pages, PNG bytes for files and documents. */
export interface RenderedChart {
  svg: string;
  png: Buffer;
}

/** Adds the report's font and a white background unless the spec sets its own. */
function withDefaults(spec: TopLevelSpec): TopLevelSpec {
  const config = spec.config ?? {};
  return {
    ...spec,
    background: spec.background ?? 'white',
    config: { font: CHART_FONT, ...config },
  } as TopLevelSpec;
}

function chartTitle(spec: TopLevelSpec): string {
  const title = (spec as { title?: unknown }).title;
  if (typeof title === 'string') return title;
  return typeof (title as { text?: unknown })?.text === 'string'
    ? (title as { text: string }).text
    : 'untitled';
}

/** Renders a Vega-Lite spec (inline data only: nothing is fetched) to SVG and PNG. */
export async function renderChart(
  spec: TopLevelSpec,
  options: RenderChartOptions = {},
): Promise<RenderedChart> {
  const scale = options.scale ?? 2;
  const vegaSpec = compile(withDefaults(spec)).spec;
  // Vega logs data-flow errors (and failed loads) instead of throwing; collect them so a broken chart fails.
  const errors: string[] = [];
  const loader = vega.loader();
  // Charts must be reproducible offline: refuse to fetch data or images.
  loader.load = async (uri: string) => {
    const message = `tried to load ${uri}: only inline data is allowed`;
    errors.push(message);
    throw new Error(message);
  };
  const logger = vega.logger(vega.Error);
  logger.error = (...args: readonly unknown[]) => {
    errors.push(args.map(String).join(' '));
    return logger;
  };
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', loader, logger });
  try {
    const svg = await view.toSVG();
    if (errors.length > 0) throw new Error(`chart "${chartTitle(spec)}" failed: ${errors.join('; ')}`);
    const png = await sharp(Buffer.from(svg), { density: 72 * scale })
      .png()
      .toBuffer();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** Writes `<name>.svg` and `<name>.png` into `dir` (created if needed); returns both paths. */
export async function saveChart(
  dir: string,
  name: string,
  chart: RenderedChart,
): Promise<{ svgPath: string; pngPath: string }> {
  await mkdir(dir, { recursive: true });
  const svgPath = path.join(dir, `${name}.svg`);
  const pngPath = path.join(dir, `${name}.png`);
  await writeFile(svgPath, chart.svg);
  await writeFile(pngPath, chart.png);
  return { svgPath, pngPath };
}
