/**
 * Vega-Lite spec builders for the charts reports keep needing, so every report looks alike. Data is always
 * inline. Pass the result to `renderChart`; for anything else, write a spec by hand.
 */
import type { TopLevelSpec } from 'vega-lite';

/** One row of chart data. */
export type Datum = Record<string, string | number | null>;

export interface BarChartOptions {
  title: string;
  data: Datum[];
  /** Category field (x axis). */
  x: string;
  /** Count/value field (y axis). */
  y: string;
  /** Optional field for colour; bars are grouped side by side (xOffset) when set. */
  color?: string;
  /** `ordinal` keeps numeric categories in numeric order (default `nominal`). */
  xType?: 'nominal' | 'ordinal';
  /** Category order on the x axis (default: sorted). */
  xOrder?: string[];
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
}

/** Vertical bars with the value printed on each bar. */
export function barChart(o: BarChartOptions): TopLevelSpec {
  const color = o.color ? { color: { field: o.color, type: 'nominal' as const } } : {};
  const offset = o.color ? { xOffset: { field: o.color, type: 'nominal' as const } } : {};
  return {
    title: o.title,
    width: o.width ?? 320,
    height: o.height ?? 220,
    data: { values: o.data },
    encoding: {
      x: {
        field: o.x,
        type: o.xType ?? 'nominal',
        title: o.xTitle ?? o.x,
        axis: { labelAngle: 0 },
        ...(o.xOrder ? { sort: o.xOrder } : {}),
      },
      y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y },
      ...offset,
    },
    layer: [
      { mark: 'bar', encoding: color },
      { mark: { type: 'text', dy: -6 }, encoding: { text: { field: o.y, type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

export interface PieChartOptions {
  title: string;
  data: Datum[];
  /** Category field. */
  category: string;
  /** Value field. */
  value: string;
  size?: number;
}

/** A pie chart with each slice's value as a label. */
export function pieChart(o: PieChartOptions): TopLevelSpec {
  const size = o.size ?? 220;
  return {
    title: o.title,
    width: size,
    height: size,
    data: { values: o.data },
    encoding: {
      theta: { field: o.value, type: 'quantitative', stack: true },
      color: { field: o.category, type: 'nominal' },
    },
    layer: [
      { mark: { type: 'arc', outerRadius: size / 2 - 10 } },
      {
        mark: { type: 'text', radius: size / 2 - 40, fill: 'white', fontWeight: 'bold' },
        encoding: { text: { field: o.value, type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export interface HistogramOptions {
  title: string;
  /** Pre-binned rows: `binStart`, `binEnd`, `count`, and the series field if any. */
  data: Datum[];
  xTitle: string;
  yTitle?: string;
  /** Field holding the series name (e.g. the class): one translucent layer per series. */
  series?: string;
  width?: number;
  height?: number;
}

/**
 * A histogram from bins computed by the caller (so large data never goes into the spec): bars from
 * `binStart` to `binEnd` of height `count`.
 */
export function histogram(o: HistogramOptions): TopLevelSpec {
  const color = o.series ? { color: { field: o.series, type: 'nominal' as const } } : {};
  return {
    title: o.title,
    width: o.width ?? 360,
    height: o.height ?? 200,
    data: { values: o.data },
    mark: { type: 'bar', opacity: o.series ? 0.55 : 1, binSpacing: 0 },
    encoding: {
      x: { field: 'binStart', type: 'quantitative', title: o.xTitle, bin: { binned: true } },
      x2: { field: 'binEnd' },
      y: { field: 'count', type: 'quantitative', title: o.yTitle ?? 'images', stack: null },
      ...color,
    },
  } as TopLevelSpec;
}

export interface LineChartOptions {
  title: string;
  data: Datum[];
  x: string;
  y: string;
  /** Field naming the line each point belongs to. */
  series?: string;
  xTitle?: string;
  yTitle?: string;
  /** Fix the y domain, e.g. [0, 1] for metrics. */
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

/** Lines with points, e.g. training curves or ROC / PR curves. */
export function lineChart(o: LineChartOptions): TopLevelSpec {
  const color = o.series ? { color: { field: o.series, type: 'nominal' as const } } : {};
  const scale = o.yDomain ? { scale: { domain: o.yDomain } } : {};
  return {
    title: o.title,
    width: o.width ?? 360,
    height: o.height ?? 240,
    data: { values: o.data },
    mark: { type: 'line', point: o.data.length <= 60 },
    encoding: {
      x: { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x },
      y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, ...scale },
      ...color,
    },
  } as TopLevelSpec;
}
