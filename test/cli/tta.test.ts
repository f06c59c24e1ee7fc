/**
 * `--tta` end to end through the CLI, on an ensemble model directory (one TF.js model, so TTA wraps it like any
 * other) and the repository's fixture dataset: evaluate records it, predict scores with it, help explains it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withSeededMathRandom } from '../../src/core/random.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { createModel } from '../../src/model/architectures.ts';
import { combineMembers } from '../../src/model/ensemble.ts';
import { cxr } from '../helpers/cli.ts';
import { type SavedTestModel, saveTestModel } from '../helpers/model-fixture.ts';

const SIZE = 24;
const DATA = 'test/fixtures/dataset';

let ensemble: SavedTestModel;
let work: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  const members = [1, 2].map((seed) =>
    withSeededMathRandom(seed, () => createModel('default', { imageSize: SIZE })),
  );
  const model = await combineMembers(members.map((m, i) => ({ model: m, temperature: 1 + i / 2 })));
  for (const m of members) m.dispose();
  ensemble = await saveTestModel({ imageSize: SIZE, model: () => model, tempPrefix: 'cxr-tta-ensemble-' });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-cli-tta-'));
});
after(async () => {
  await ensemble.cleanup();
  await rm(work, { recursive: true, force: true });
});

interface Row {
  path: string;
  status: string;
  probability: number | null;
}

describe('--tta on an ensemble model directory', () => {
  it('cxr evaluate --tta --json scores every image and records the views in metrics.json and the report', async () => {
    const out = path.join(work, 'evaluate');
    const args = ['evaluate', '--model', ensemble.dir, '--data', DATA, '--bootstrap', '0', '--quiet'];
    const run = await cxr([...args, '--tta', '--json', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    const metrics = JSON.parse(run.stdout);
    assert.equal(metrics.n, 8);
    assert.equal(metrics.tta.combine, 'mean-logit');
    assert.deepEqual(
      metrics.tta.views.map((v: { name: string }) => v.name),
      ['identity', 'zoom-in', 'zoom-out'],
    );
    assert.ok(metrics.rocAuc >= 0 && metrics.rocAuc <= 1);
    const report = await readFile(path.join(out, 'report.html'), 'utf8');
    assert.match(report, /test-time augmentation/);
    assert.match(report, /mean logit of 3 views/);

    const plain = await cxr([...args, '--json', '--out', path.join(work, 'plain')]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).tta, undefined);
  });

  it('cxr predict --tta --json scores the same inputs with the mean logit of the views', async () => {
    const inputs = path.join(DATA, 'test');
    const plain = await cxr(['predict', '--model', ensemble.dir, '--json', '--quiet', inputs]);
    const tta = await cxr(['predict', '--model', ensemble.dir, '--json', '--quiet', '--tta', inputs]);
    assert.equal(tta.code, plain.code, tta.stderr);
    const before = new Map((JSON.parse(plain.stdout) as Row[]).map((r) => [r.path, r]));
    const rows = JSON.parse(tta.stdout) as Row[];
    assert.equal(rows.length, before.size);
    const scored = rows.filter((r) => r.status === 'scored');
    assert.equal(scored.length, 8);
    for (const r of scored) {
      assert.equal(before.get(r.path)?.status, 'scored', r.path);
      assert.ok(r.probability! > 0 && r.probability! < 1);
    }
    // The views change the score: not a copy of the plain run.
    assert.ok(scored.some((r) => r.probability !== before.get(r.path)!.probability));
  });

  it('says what --tta does and costs, and refuses it with --queue', async () => {
    for (const command of ['predict', 'evaluate']) {
      const help = await cxr([command, '--help']);
      assert.match(
        help.stdout,
        /--tta\s+test-time augmentation: mean logit of the image and a\s+mild\s+zoom/,
      );
      assert.match(help.stdout, /~3×\s+slower/);
      assert.match(help.stdout, /about 3× the scoring time/);
    }
    const run = await cxr(['predict', '--tta', '--queue', 'redis://127.0.0.1:1', DATA]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--tta scores locally/);
  });
});
