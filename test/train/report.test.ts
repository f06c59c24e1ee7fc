import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderChart } from '../../src/report/chart.ts';
import type { EpochRecord } from '../../src/train/loop.ts';
import { trainingCurvesSpec, zoomedDomain } from '../../src/train/report.ts';

const history: EpochRecord[] = [1, 2, 3, 4].map((epoch) => ({
  epoch,
  learningRate: 0.002 / epoch,
  trainLoss: 0.4 / epoch,
  trainAccuracy: 0.9 + epoch / 100,
  trainAuc: 0.95 + epoch / 100,
  valLoss: 0.3 / epoch,
  valAccuracy: 0.92 + epoch / 200,
  valAuc: 0.96 + epoch / 200,
  seconds: 10,
  imagesPerSecond: 100,
}));

test('accuracy and AUC axes are zoomed to the data; loss keeps zero; rates stop at 1', () => {
  assert.deepEqual(zoomedDomain([0.95, 0.99]), [0.945, 0.995]);
  assert.deepEqual(zoomedDomain([0.3, 0.1], { keepZero: true }), [0, 0.32]);
  assert.deepEqual(zoomedDomain([0.99, 1], { max: 1 }), [0.985, 1]);
  assert.equal(zoomedDomain([null]), undefined);
});

test('the curves mark the kept epoch on every chart and add the learning rate', async () => {
  const spec = trainingCurvesSpec(history, { bestEpoch: 3 }) as unknown as {
    hconcat: { title: string; layer: unknown[] }[];
  };
  assert.deepEqual(
    spec.hconcat.map((c) => c.title),
    ['Loss', 'Accuracy', 'ROC-AUC', 'Learning rate'],
  );
  for (const chart of spec.hconcat)
    assert.equal(chart.layer.length, 2, `${chart.title} has the kept-epoch rule`);
  const { svg } = await renderChart(spec as never);
  assert.match(svg, /kept: epoch 3/);
  const unmarked = trainingCurvesSpec(history) as unknown as { hconcat: { layer: unknown[] }[] };
  assert.ok(unmarked.hconcat.every((c) => c.layer.length === 1));
});
