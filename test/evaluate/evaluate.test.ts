import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine } from '../../src/engine/backend.ts';
import { evaluateModel } from '../../src/evaluate/evaluate.ts';
import { buildEvaluationReport } from '../../src/evaluate/report.ts';
import { makeModelDir } from './model-fixture.ts';

const FIXTURE = 'test/fixtures/dataset';
let modelDir: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  modelDir = await makeModelDir(24, { threshold: 0.4 });
});
after(() => rm(path.dirname(modelDir), { recursive: true, force: true }));

describe('evaluateModel', () => {
  it('scores the test split with the stored threshold and skips unreadable files', async () => {
    const result = await evaluateModel({ modelDir, dataDir: FIXTURE, cacheDir: null, bootstrapSamples: 100 });
    assert.equal(result.split, 'test');
    assert.equal(result.metrics.n, 8);
    assert.equal(result.metrics.threshold, 0.4);
    assert.equal(result.metrics.atHalf.threshold, 0.5);
    const c = result.metrics.confusion;
    assert.equal(c.tp + c.fn, 4);
    assert.equal(c.tn + c.fp, 4);
    assert.ok(result.skipped.some((b) => b.path.endsWith('notes.jpeg')));
    assert.ok(result.warnings.some((w) => w.includes('notes.jpeg')));
    assert.ok(result.records.every((r) => r.split === 'test'));
    const html = await buildEvaluationReport(result, FIXTURE);
    for (const alt of [
      'confusion matrix',
      'ROC curve with the operating point',
      'precision-recall curve with the prevalence baseline',
      'reliability diagram',
    ]) {
      assert.ok(html.includes(`alt="${alt}"`), `report lacks the ${alt}`);
    }
    // Missed pneumonias first, then false positives, one captioned Grad-CAM thumbnail each.
    assert.deepEqual(result.mistakeCounts, { missed: c.fn, falsePositive: c.fp });
    assert.deepEqual(
      result.mistakes.map((m) => m.kind),
      [...Array(c.fn).fill('missed'), ...Array(c.fp).fill('false-positive')],
    );
    assert.ok(
      result.mistakes.every((m) => m.cam && m.cam.data.length > 0),
      'every mistake has a Grad-CAM map',
    );
    const missedAt = html.indexOf('Missed pneumonias (false negatives)');
    const falseAt = html.indexOf('False positives</h2>');
    assert.ok(missedAt > 0 && falseAt > missedAt, 'missed pneumonias come before false positives');
    const captions =
      html.match(
        /truth (NORMAL|PNEUMONIA) \/ predicted (NORMAL \(not flagged\)|PNEUMONIA \(flagged\))\nP (&gt;99%|&lt;1%|\d+\.\d%)/g,
      ) ?? [];
    assert.equal(captions.length, c.fp + c.fn, 'one truth / predicted caption per mistake');
    // The per-class table (classification_report) with support, and no threshold-free rows at 0.5.
    assert.match(html, /<th>support<\/th>/);
    assert.match(html, /macro avg/);
    assert.match(html, /weighted avg/);
    const atHalf = html.slice(html.indexOf('id="at-a-threshold-of-0-5"'), html.indexOf('id="curves"'));
    assert.doesNotMatch(atHalf, /<td>ROC-AUC<\/td>/);
    assert.match(atHalf, /<td>sensitivity<\/td>/);
  });

  it('evaluates another split on request and fails clearly on a missing one', async () => {
    const train = await evaluateModel({
      modelDir,
      dataDir: FIXTURE,
      split: 'train',
      cacheDir: null,
      bootstrapSamples: 0,
    });
    assert.ok(train.metrics.n >= 10);
    // No bootstrap: the ROC-AUC interval is the score interval, still of positive width.
    assert.equal(train.metrics.ciMethod.rocAuc, 'hanley-mcneil-score');
    const [lo, hi] = train.metrics.ci95.rocAuc;
    assert.ok(lo < train.metrics.rocAuc || hi > train.metrics.rocAuc, `${lo}–${hi}`);
    assert.ok(lo < hi);
    await assert.rejects(
      evaluateModel({ modelDir, dataDir: FIXTURE, split: 'val', cacheDir: null }),
      /no "val" split; present: test, train/,
    );
  });
});
