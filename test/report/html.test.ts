import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISCLAIMER, escapeHtml, formatCell, htmlReport } from '../../src/report/html.ts';

const PNG_BYTES = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

function sampleReport(): string {
  return htmlReport({
    title: 'Report <script>alert(1)</script>',
    subtitle: 'data & "more"',
    generatedAt: new Date('2024-01-02T03:04:05Z'),
    sections: [
      {
        heading: 'Counts',
        blocks: [
          { kind: 'paragraph', text: 'a < b' },
          {
            kind: 'table',
            columns: ['class', 'images'],
            rows: [
              ['<NORMAL>', 1341],
              ['PNEUMONIA', null],
            ],
          },
          { kind: 'keyValues', entries: [['ratio', 0.123456]] },
        ],
      },
      {
        heading: 'Counts',
        blocks: [
          {
            kind: 'chart',
            chart: { svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' },
            alt: 'bar "chart"',
          },
          {
            kind: 'figures',
            items: [{ kind: 'image', png: PNG_BYTES, alt: 'x', caption: 'grid', width: 200 }],
          },
          { kind: 'note', text: 'careful', tone: 'warning' },
          { kind: 'list', items: ['one', 'two & three'] },
        ],
      },
    ],
  });
}

test('escapeHtml escapes markup and quotes', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('formatCell formats numbers for tables', () => {
  assert.equal(formatCell(3875), '3,875');
  assert.equal(formatCell(0.123456), '0.1235');
  assert.equal(formatCell(null), '–');
  assert.equal(formatCell('x'), 'x');
});

test('htmlReport escapes every text and embeds no scripts', () => {
  const html = sampleReport();
  assert.ok(!html.includes('<script>'), 'title text is escaped');
  assert.ok(html.includes('Report &lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('data &amp; &quot;more&quot;'));
  assert.ok(html.includes('<td>&lt;NORMAL&gt;</td>'));
  assert.ok(html.includes('<td class="num">1,341</td>'));
  assert.ok(html.includes('alt="bar &quot;chart&quot;"'));
  assert.ok(html.includes('two &amp; three'));
});

test('htmlReport is self-contained: images as data URIs, no external resources', () => {
  const html = sampleReport();
  const svgUri = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>').toString('base64')}`;
  assert.ok(html.includes(`src="${svgUri}"`));
  assert.ok(
    html.includes(
      `src="data:image/png;base64,${Buffer.from(PNG_BYTES).toString('base64')}" alt="x" width="200"`,
    ),
  );
  const sources = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
  assert.ok(sources.length >= 4);
  for (const src of sources) assert.match(src, /^(data:|#)/, `${src.slice(0, 40)} is embedded or local`);
  assert.ok(!/<link\b/.test(html) && !/@import/.test(html));
});

test('htmlReport has a table of contents with unique anchors and the disclaimer footer', () => {
  const html = sampleReport();
  assert.ok(html.includes('<a href="#counts">Counts</a>'));
  assert.ok(html.includes('<a href="#counts-2">Counts</a>'));
  assert.ok(html.includes('<section id="counts-2">'));
  assert.ok(html.includes(`<footer>${DISCLAIMER}</footer>`));
  assert.match(DISCLAIMER, /not a diagnosis/);
  assert.ok(html.includes('2024-01-02T03:04:05.000Z'));
});
