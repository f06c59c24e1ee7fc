/**
 * A small builder for self-contained HTML reports: one file with inline CSS, charts and images embedded as data
 * URIs, no scripts and no external resources, so it opens offline from disk and can be mailed as is. Every piece
 * of text is HTML-escaped; callers never pass raw HTML.
 */
import type { RenderedChart } from './chart.ts';

/** Shown at the bottom of every report. */
export const DISCLAIMER =
  'Not a medical device. This report describes data and model behaviour for research and engineering; it is ' +
  'not a diagnosis and must not be used to make clinical decisions.';

/** A table cell: numbers are formatted (thousands separators, at most 4 decimals); null shows as an en dash. */
export type Cell = string | number | null;

/** A chart or image shown as a figure. */
export type Figure =
  | { kind: 'chart'; chart: Pick<RenderedChart, 'svg'>; alt: string; caption?: string }
  | {
      kind: 'image';
      png: Uint8Array;
      alt: string;
      caption?: string /** Display width in CSS pixels. */;
      width?: number;
    };

/** One building block of a section. */
export type ReportBlock =
  | { kind: 'paragraph'; text: string }
  | { kind: 'note'; text: string; tone?: 'info' | 'warning' }
  | { kind: 'list'; items: string[] }
  | { kind: 'keyValues'; entries: [string, Cell][] }
  | { kind: 'table'; columns: string[]; rows: Cell[][]; caption?: string }
  | Figure
  /** Several figures side by side (wrapping on narrow screens). */
  | { kind: 'figures'; items: Figure[] };

export interface ReportSection {
  heading: string;
  /** Anchor for the table of contents; derived from the heading when omitted. */
  id?: string;
  blocks: ReportBlock[];
}

export interface HtmlReportOptions {
  title: string;
  /** A line under the title (e.g. the dataset path). */
  subtitle?: string;
  /** Shown in the header; defaults to now. */
  generatedAt?: Date;
  sections: ReportSection[];
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Formats a table cell: integers with thousands separators, other numbers with up to 4 decimals. */
export function formatCell(value: Cell): string {
  if (value === null) return '–';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: Number.isInteger(value) ? 0 : 4 });
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'section'
  );
}

function dataUri(mime: string, bytes: Uint8Array | string): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

function renderFigure(figure: Figure): string {
  const src =
    figure.kind === 'chart' ? dataUri('image/svg+xml', figure.chart.svg) : dataUri('image/png', figure.png);
  const width = figure.kind === 'image' && figure.width ? ` width="${Math.round(figure.width)}"` : '';
  const caption = figure.caption ? `<figcaption>${escapeHtml(figure.caption)}</figcaption>` : '';
  // An image with a set width keeps its caption to that width, so thumbnails sit in a dense grid.
  const box =
    figure.kind === 'image' && figure.width ? ` style="max-width:${Math.round(figure.width)}px"` : '';
  return `<figure${box}><img src="${src}" alt="${escapeHtml(figure.alt)}"${width}>${caption}</figure>`;
}

function renderTable(columns: string[], rows: Cell[][], caption?: string): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = row.map((v) => {
        const cls = typeof v === 'number' ? ' class="num"' : '';
        return `<td${cls}>${escapeHtml(formatCell(v))}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const cap = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<table>${cap}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function renderBlock(block: ReportBlock): string {
  switch (block.kind) {
    case 'paragraph':
      return `<p>${escapeHtml(block.text)}</p>`;
    case 'note':
      return `<p class="note ${block.tone ?? 'info'}">${escapeHtml(block.text)}</p>`;
    case 'list':
      return `<ul>${block.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
    case 'keyValues':
      return `<dl>${block.entries
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(formatCell(v))}</dd>`)
        .join('')}</dl>`;
    case 'table':
      return renderTable(block.columns, block.rows, block.caption);
    case 'chart':
    case 'image':
      return renderFigure(block);
    case 'figures':
      return `<div class="figures">${block.items.map(renderFigure).join('')}</div>`;
  }
}

const CSS = `
body{font-family:"Liberation Sans","DejaVu Sans",Arial,Helvetica,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1d2733;line-height:1.45}
h1{margin-bottom:.2rem}header p{margin:.1rem 0;color:#555}
h2{border-bottom:1px solid #d5dbe1;padding-bottom:.25rem;margin-top:2.2rem}
nav ol{columns:2;padding-left:1.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}
th,td{border:1px solid #d5dbe1;padding:.25rem .55rem;text-align:left;vertical-align:top;white-space:pre-line}
th{background:#eef2f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:bold;padding:.3rem 0}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figure img{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#555;max-width:520px;white-space:pre-line;overflow-wrap:anywhere}
.figures{display:flex;flex-wrap:wrap;align-items:flex-start}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}dd{margin:0}
.note{padding:.5rem .8rem;border-left:4px solid #5b8bd0;background:#f1f5fb}
.note.warning{border-color:#d08a2c;background:#fdf5e8}
footer{margin-top:3rem;padding-top:1rem;border-top:2px solid #c0392b;color:#7b241c;font-weight:bold}
`;

/** Builds the complete HTML document. */
export function htmlReport(options: HtmlReportOptions): string {
  const used = new Set<string>();
  const sections = options.sections.map((s) => {
    let id = slug(s.id ?? s.heading);
    for (let n = 2; used.has(id); n++) id = `${slug(s.id ?? s.heading)}-${n}`;
    used.add(id);
    return { ...s, id };
  });
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const toc = sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.heading)}</a></li>`).join('');
  const body = sections
    .map(
      (s) =>
        `<section id="${s.id}">\n<h2>${escapeHtml(s.heading)}</h2>\n${s.blocks.map(renderBlock).join('\n')}\n</section>`,
    )
    .join('\n');
  const subtitle = options.subtitle ? `<p>${escapeHtml(options.subtitle)}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1>${subtitle}<p>Generated ${escapeHtml(generated)} by Pneumoscope</p></header>
<p class="note warning">${escapeHtml(DISCLAIMER)}</p>
<nav><ol>${toc}</ol></nav>
${body}
<footer>${escapeHtml(DISCLAIMER)}</footer>
</body>
</html>
`;
}
