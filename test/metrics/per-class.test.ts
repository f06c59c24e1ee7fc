import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perClassReport } from '../../src/metrics/per-class.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

test('matches scikit-learn classification_report on a known confusion matrix', () => {
  // y_true = [0]*10 + [1]*30; 8 NORMAL right, 2 flagged; 27 PNEUMONIA flagged, 3 missed.
  const report = perClassReport({ tn: 8, fp: 2, fn: 3, tp: 27 }, ['NORMAL', 'PNEUMONIA']);
  const [normal, pneumonia] = report.classes;
  close(normal.precision, 8 / 11);
  close(normal.recall, 0.8);
  close(normal.f1, (2 * (8 / 11) * 0.8) / (8 / 11 + 0.8));
  assert.equal(normal.support, 10);
  close(pneumonia.precision, 27 / 29);
  close(pneumonia.recall, 0.9);
  assert.equal(pneumonia.support, 30);
  close(report.accuracy, 35 / 40);
  close(report.macro.recall, (0.8 + 0.9) / 2);
  close(report.weighted.recall, (0.8 * 10 + 0.9 * 30) / 40);
  assert.equal(report.weighted.support, 40);
});

test('a class that is never predicted has NaN precision and F1 0, as scikit-learn warns', () => {
  const report = perClassReport({ tn: 0, fp: 5, fn: 0, tp: 5 }, ['NORMAL', 'PNEUMONIA']);
  assert.ok(Number.isNaN(report.classes[0].precision));
  assert.equal(report.classes[0].recall, 0);
});
