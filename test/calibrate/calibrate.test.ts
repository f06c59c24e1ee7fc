import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CalibrationError, calibrateModel } from '../../src/calibrate/calibrate.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { evaluateModel } from '../../src/evaluate/evaluate.ts';
import { thresholdRuleByName } from '../../src/metrics/threshold.ts';
import { readMetadata } from '../../src/model/io.ts';
import { runCli } from '../helpers/cli.ts';
import { type SavedTestModel, saveTestModel } from '../helpers/model-fixture.ts';
import { brightnessModel, writeSiteImages } from './site-fixture.ts';

const SIZE = 32;
let work: string;
let site: string;
let parent: SavedTestModel;

before(async () => {
  await initEngine({ backend: 'wasm' });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-calibrate-'));
  site = path.join(work, 'site');
  await writeSiteImages(site, { normal: 30, pneumonia: 40 });
  parent = await saveTestModel({
    imageSize: SIZE,
    model: brightnessModel,
    metadata: {
      name: 'parent',
      threshold: 0.9,
      thresholdRule: 'max-specificity@sensitivity>=0.95',
      calibration: { method: 'temperature', temperature: 1 },
    },
    card: '# parent card\n',
  });
});

after(async () => {
  await parent.cleanup();
  await rm(work, { recursive: true, force: true });
});

function options(out: string, extra: Partial<Parameters<typeof calibrateModel>[0]> = {}) {
  return {
    modelDir: parent.dir,
    dataDir: site,
    outDir: path.join(work, out),
    method: 'temperature' as const,
    rule: thresholdRuleByName('sens95'),
    command: 'cxr calibrate (test)',
    cacheDir: null,
    bootstrapSamples: 100,
    ...extra,
  };
}

describe('calibrateModel', () => {
  it('refits the temperature and threshold on the site, records it, and leaves the parent alone', async () => {
    const before = await readFile(path.join(parent.dir, 'metadata.json'), 'utf8');
    const result = await calibrateModel(options('site-t'));
    const saved = await readMetadata(result.outDir);

    assert.equal(saved.calibration.method, 'temperature');
    assert.ok(saved.calibration.method === 'temperature' && saved.calibration.temperature !== 1);
    assert.notEqual(saved.threshold, 0.9);
    assert.equal(saved.thresholdRule, 'max-specificity@sensitivity>=0.95 (site calibration)');
    const r = saved.recalibration;
    assert.ok(r);
    assert.equal(r.n, 70);
    assert.deepEqual(r.data?.classCounts, { NORMAL: 30, PNEUMONIA: 40 });
    assert.equal(r.labelled, true);
    assert.equal(r.adaptBn, false);
    assert.equal(r.method, 'temperature');
    assert.equal(r.from.name, 'parent');
    assert.equal(r.from.threshold, 0.9);
    assert.equal(r.command, 'cxr calibrate (test)');
    assert.equal(r.crossValidated?.folds, 5);
    assert.equal(r.crossValidated?.n, 70);

    const siteRecord = saved.evaluations?.find((e) => e.kind === 'site-calibration');
    assert.equal(siteRecord?.n, 70);
    assert.ok((result.after?.sensitivity ?? 0) >= 0.95);
    // The parent's threshold called almost nothing positive here; the refitted one meets the rule.
    assert.ok((result.before?.sensitivity ?? 1) < 0.95);

    const card = await readFile(path.join(result.outDir, 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /`cxr calibrate` refitted the calibration to temperature scaling/);
    assert.match(card, /on 70 labelled local images \(30 NORMAL, 40 PNEUMONIA/);
    assert.match(card, /Expected on new images of this site/);
    assert.equal(await readFile(path.join(parent.dir, 'metadata.json'), 'utf8'), before);

    // The saved model scores the site exactly as the calibration measured it.
    const evaluated = await evaluateModel({
      modelDir: result.outDir,
      dataDir: site,
      cacheDir: null,
      bootstrapSamples: 0,
    });
    assert.deepEqual(evaluated.metrics.confusion, result.after?.confusion);
  });

  it('fits a Platt scale on request', async () => {
    const result = await calibrateModel(
      options('site-p', { method: 'platt', rule: thresholdRuleByName('youden') }),
    );
    const saved = await readMetadata(result.outDir);
    assert.equal(saved.calibration.method, 'platt');
    assert.ok(saved.calibration.method === 'platt' && saved.calibration.a > 0);
    assert.equal(saved.recalibration?.method, 'platt');
    assert.equal(saved.recalibration?.thresholdRule, 'youden');
  });

  it('re-estimates batch-norm statistics with --adapt-bn, and without labels with --adapt-bn-only', async () => {
    const adapted = await calibrateModel(options('site-bn', { adaptBn: true }));
    assert.equal(adapted.record.adaptBn, true);
    const weights = (dir: string) => readFile(path.join(dir, 'weights.bin'));
    assert.notDeepEqual(await weights(adapted.outDir), await weights(parent.dir));

    const unlabelled = path.join(work, 'unlabelled');
    await writeSiteImages(unlabelled, { normal: 12, pneumonia: 12, flat: true, seed: 9 });
    const only = await calibrateModel(options('site-bn-only', { dataDir: unlabelled, adaptBnOnly: true }));
    const saved = await readMetadata(only.outDir);
    assert.equal(saved.recalibration?.labelled, false);
    assert.equal(saved.recalibration?.adaptBn, true);
    assert.equal(saved.recalibration?.method, 'none');
    assert.equal(saved.recalibration?.n, 24);
    assert.equal(saved.threshold, 0.9, 'threshold kept without labels');
    assert.deepEqual(saved.calibration, { method: 'temperature', temperature: 1 });
    assert.notDeepEqual(await weights(only.outDir), await weights(parent.dir));
    assert.equal(only.after, null);
  });

  it('refuses fewer than 20 images of a class, naming the folder and the counts', async () => {
    const small = path.join(work, 'small');
    await writeSiteImages(small, { normal: 19, pneumonia: 40, seed: 5 });
    await assert.rejects(
      calibrateModel(options('never', { dataDir: small })),
      (err: Error) =>
        err instanceof CalibrationError &&
        err.message.includes(small) &&
        /at least 20 usable images of each class.*found 19 NORMAL and 40 PNEUMONIA/.test(err.message),
    );
  });

  it('refuses an output folder that exists and is not empty, and the model folder itself', async () => {
    const taken = path.join(work, 'taken');
    await mkdir(taken);
    await writeFile(path.join(taken, 'x'), 'x');
    await assert.rejects(calibrateModel(options('taken')), /already exists and is not empty/);
    await assert.rejects(
      calibrateModel({ ...options('x'), outDir: parent.dir }),
      /is the model directory itself/,
    );
  });
});

describe('cxr calibrate', () => {
  it('refuses the test fixture (too few images) with one clear line and exit code 1', async () => {
    const run = await runCli([
      'calibrate',
      '--model',
      parent.dir,
      '--data',
      'test/fixtures/dataset',
      '--split',
      'train',
      '--out',
      path.join(work, 'cli-refused'),
      '--no-cache',
      '--quiet',
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^cxr: error: .*needs at least 20 usable images of each class.*found \d+ NORMAL and \d+ PNEUMONIA/,
    );
  });

  it('prints a JSON summary with --json, and rejects an unknown threshold rule', async () => {
    const out = path.join(work, 'cli-json');
    const run = await runCli([
      'calibrate',
      '--model',
      parent.dir,
      '--data',
      site,
      '--out',
      out,
      '--threshold-rule',
      'sens=0.97',
      '--method',
      'platt',
      '--no-cache',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.calibration.method, 'platt');
    assert.equal(summary.recalibration.thresholdRule, 'max-specificity@sensitivity>=0.97');
    assert.match(
      summary.recalibration.command,
      /calibrate --model .* --threshold-rule sens=0\.97 --method platt/,
    );
    assert.ok(summary.after.sensitivity >= 0.97);

    const bad = await runCli([
      'calibrate',
      '--data',
      site,
      '--out',
      path.join(work, 'x'),
      '--threshold-rule',
      'f1',
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--threshold-rule: unknown threshold rule "f1"/);
  });
});
