import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { CHART_FONT, renderChart } from '../../src/report/chart.ts';
import { barChart, histogram, lineChart, pieChart } from '../../src/report/specs.ts';

const counts = [
  { label: 'NORMAL', images: 3 },
  { label: 'PNEUMONIA', images: 7 },
];

function svgSize(svg: string): { width: number; height: number } {
  const match = /<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"/.exec(svg);
  assert.ok(match, 'svg has width and height');
  return { width: Number(match[1]), height: Number(match[2]) };
}

test('renderChart produces an SVG with the data and a PNG of twice its size', async () => {
  const chart = await renderChart(
    barChart({ title: 'Images per class', data: counts, x: 'label', y: 'images' }),
  );
  assert.match(chart.svg, /^<svg/);
  assert.match(chart.svg, /Images per class/);
  assert.match(chart.svg, /PNEUMONIA/);
  assert.ok(chart.svg.includes(CHART_FONT.split(',')[0]), 'uses the report font');
  const meta = await sharp(chart.png).metadata();
  assert.equal(meta.format, 'png');
  const size = svgSize(chart.svg);
  assert.equal(meta.width, size.width * 2);
  assert.equal(meta.height, size.height * 2);
});

test('renderChart scale option changes the PNG resolution', async () => {
  const chart = await renderChart(
    pieChart({ title: 'train', data: counts, category: 'label', value: 'images' }),
    {
      scale: 1,
    },
  );
  const meta = await sharp(chart.png).metadata();
  assert.equal(meta.width, svgSize(chart.svg).width);
});

test('histogram and line chart specs render', async () => {
  const hist = await renderChart(
    histogram({
      title: 'Widths',
      xTitle: 'width (px)',
      series: 'label',
      data: [
        { binStart: 0, binEnd: 10, count: 4, label: 'NORMAL' },
        { binStart: 10, binEnd: 20, count: 2, label: 'PNEUMONIA' },
      ],
    }),
  );
  assert.match(hist.svg, /width \(px\)/);
  const line = await renderChart(
    lineChart({
      title: 'Loss',
      data: [
        { epoch: 1, loss: 0.7 },
        { epoch: 2, loss: 0.4 },
      ],
      x: 'epoch',
      y: 'loss',
    }),
  );
  assert.match(line.svg, /Loss/);
});

test('renderChart refuses to fetch remote data', async () => {
  await assert.rejects(
    renderChart({ data: { url: 'https://example.com/data.json' }, mark: 'bar' }),
    /only inline data is allowed/,
  );
});
