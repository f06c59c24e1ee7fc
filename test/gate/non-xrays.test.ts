/**
 * The shipped model's gate on made pictures that are not chest X-rays (test/helpers/non-xrays.ts): every one is
 * rejected and none is labelled; real X-rays (samples/) and a mirrored X-ray are scored; a negative X-ray is
 * rejected. The made pictures are stand-ins, not the hidden set of the issue (see docs/input-gate.md).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { Predictor } from '../../src/predict/predictor.ts';
import { makeAlteredXrays, makeNonXrays } from '../helpers/non-xrays.ts';

describe("the shipped model's input gate", () => {
  let predictor: Predictor;
  before(async () => {
    predictor = await Predictor.load(DEFAULT_MODEL_DIR, { backend: 'cpu' });
  });
  after(() => predictor?.dispose());

  test('the shipped model carries gate data', () => {
    assert.ok(predictor.gate.learned, 'models/default has no metadata.gate');
    assert.deepEqual(predictor.warnings, []);
  });

  test('every made non-X-ray picture is rejected with a reason, none labelled or flagged', async () => {
    const pictures = await makeNonXrays();
    const results = await predictor.predict(pictures.map((p) => ({ name: p.name, bytes: p.bytes })));
    for (const r of results) {
      assert.equal(r.status, 'rejected', `${r.name} was ${r.status} (p=${r.probability})`);
      assert.equal(r.label, undefined, r.name);
      assert.ok(r.reason && r.reason.length > 10, r.name);
    }
    const byName = new Map(results.map((r) => [r.name, r]));
    assert.match(byName.get('one-pixel.png')!.reason!, /too small/);
    assert.match(byName.get('all-black.png')!.reason!, /almost uniform/);
    assert.match(byName.get('cat-fur.jpeg')!.reason!, /colour picture/);
  });

  test('real X-rays pass; a mirrored X-ray passes, a negative one is rejected', async () => {
    const samples: { name: string; bytes: Uint8Array }[] = [];
    for (const folder of ['NORMAL', 'PNEUMONIA']) {
      const dir = path.join(PACKAGE_ROOT, 'samples', folder);
      for (const name of readdirSync(dir))
        samples.push({ name, bytes: new Uint8Array(readFileSync(path.join(dir, name))) });
    }
    const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'formats', 'xray-icc.jpeg');
    const altered = await makeAlteredXrays(new Uint8Array(readFileSync(fixture)));
    const results = await predictor.predict([
      ...samples,
      ...altered.map((a) => ({ name: a.name, bytes: a.bytes })),
    ]);
    const byName = new Map(results.map((r) => [r.name, r]));
    for (const s of samples)
      assert.equal(byName.get(s.name)!.status, 'scored', `${s.name}: ${byName.get(s.name)!.reason}`);
    for (const a of altered) {
      const expected = a.expect === 'pass' ? 'scored' : 'rejected';
      assert.equal(byName.get(a.name)!.status, expected, `${a.name} (${a.why})`);
    }
  });
});
