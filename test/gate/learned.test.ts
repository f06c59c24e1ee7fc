/**
 * The learned check on a tiny fixture model: fitted on X-ray-like made images, it passes new ones and refuses
 * noise and checkerboards; the Predictor applies it (status, reason, no label), `--no-gate` turns it off, and a
 * model without gate data still loads with a warning.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { seededRandom, withSeededMathRandom } from '../../src/core/random.ts';
import { decodeResized } from '../../src/data/decode.ts';
import { initEngine } from '../../src/engine/backend.ts';
import { penultimateTensors, withFeatures } from '../../src/gate/features.ts';
import { fitGate } from '../../src/gate/fit.ts';
import { InputGate } from '../../src/gate/gate.ts';
import { createModel } from '../../src/model/architectures.ts';
import { combineMembers } from '../../src/model/ensemble.ts';
import { Predictor } from '../../src/predict/predictor.ts';
import { testMetadata } from '../helpers/model-fixture.ts';

const SIZE = 32;

/** A made "X-ray": dark lungs either side of a bright middle band, bright frame, some texture. */
function xrayLike(seed: number, size = SIZE): Uint8Array {
  const random = seededRandom(seed);
  const shift = (random() - 0.5) * 0.1 * size;
  const gain = 0.85 + 0.3 * random();
  return Uint8Array.from({ length: size * size }, (_, i) => {
    const x = (i % size) + shift;
    const y = Math.floor(i / size);
    const centre = Math.abs(x - size / 2) < size * 0.12 ? 190 : 70;
    const edge = x < size * 0.1 || x > size * 0.9 || y < size * 0.08 ? 200 : 0;
    return Math.min(255, (Math.max(centre, edge) + 25 * random()) * gain);
  });
}

async function png(pixels: Uint8Array, size: number): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(pixels, { raw: { width: size, height: size, channels: 1 } })
      .png()
      .toBuffer(),
  );
}

/** Made X-rays of 96 px, as PNG files and as the model-size pixels the decoder gives for them. */
async function xrays(first: number, count: number): Promise<{ files: Uint8Array[]; pixels: Uint8Array }> {
  const files: Uint8Array[] = [];
  const pixels = new Uint8Array(count * SIZE * SIZE);
  for (let i = 0; i < count; i++) {
    files.push(await png(xrayLike(first + i, 96), 96));
    pixels.set((await decodeResized(files[i], SIZE)).pixels, i * SIZE * SIZE);
  }
  return { files, pixels };
}

describe('learned check on a tiny model', () => {
  let model: ReturnType<typeof createModel>;
  before(async () => {
    await initEngine({ backend: 'cpu' });
    // Seeded initial weights: the test must not depend on a lucky draw.
    model = withSeededMathRandom(7, () => createModel('default', { imageSize: SIZE }));
  });
  after(() => model.dispose());

  test('penultimate features: the input of the final Dense layer, one per ensemble member', async () => {
    assert.deepEqual(
      penultimateTensors(model).map((t) => t.shape),
      [[null, 96]],
    );
    const second = createModel('default', { imageSize: SIZE });
    const ensemble = await combineMembers([
      { model, temperature: 1 },
      { model: second, temperature: 2 },
    ]);
    const wrapped = withFeatures(ensemble);
    assert.deepEqual(wrapped.widths, [96, 96]);
    assert.equal(wrapped.featureSize, 192);
    second.dispose();
    ensemble.dispose();
  });

  test('fitted on X-ray-like images: passes new ones, refuses noise and checkerboards; Predictor applies it', async () => {
    const train = (await xrays(0, 120)).pixels;
    const validation = (await xrays(1000, 30)).pixels;
    const gate = await fitGate(model, { imageSize: SIZE, train, validation });
    const learned = gate.learned;
    assert.equal(learned.fittedOn.train, 120);
    assert.equal(learned.featureSize, 96);
    assert.ok(learned.threshold > learned.distances.validation.p50);
    assert.ok(learned.validationRejectRate <= 0.05);

    const metadata = testMetadata(SIZE, { gate });
    const predictor = Predictor.fromModel(model, metadata);
    assert.deepEqual(predictor.warnings, []);
    const random = seededRandom(99);
    const noise = Uint8Array.from({ length: 128 * 128 }, () => 255 * random());
    const checker = Uint8Array.from({ length: 128 * 128 }, (_, i) =>
      (Math.floor((i % 128) / 16) + Math.floor(i / 128 / 16)) % 2 ? 230 : 20,
    );
    const fresh = await xrays(5000, 2);
    const inputs = [
      { name: 'xray-a.png', bytes: fresh.files[0] },
      { name: 'xray-b.png', bytes: fresh.files[1] },
      { name: 'noise.png', bytes: await png(noise, 128) },
      { name: 'checker.png', bytes: await png(checker, 128) },
    ];
    const results = await predictor.predict(inputs, { threshold: 0 });
    const byName = new Map(results.map((r) => [r.name, r]));
    for (const name of ['xray-a.png', 'xray-b.png']) {
      assert.equal(byName.get(name)!.status, 'scored', `${name}: ${byName.get(name)!.reason}`);
    }
    for (const name of ['noise.png', 'checker.png']) {
      const r = byName.get(name)!;
      assert.equal(r.status, 'rejected', name);
      assert.equal(r.label, undefined, 'a rejected input is never labelled, even at threshold 0');
      assert.match(r.reason!, /^does not look like a chest X-ray of the kind the model was trained on/);
      assert.equal(r.gate?.check, 'learned');
      assert.ok(r.gate!.distance! > r.gate!.threshold!);
    }
    // Rejected rows are read first.
    assert.deepEqual(
      results.slice(0, 2).map((r) => r.status),
      ['rejected', 'rejected'],
    );

    // --tta: the gate reads the image as it is, so its verdicts and distances do not move.
    const tta = await Predictor.fromModel(model, metadata, null, { tta: true }).predict(inputs, {
      threshold: 0,
    });
    for (const r of tta) {
      const plain = byName.get(r.name)!;
      assert.deepEqual([r.status, r.gate], [plain.status, plain.gate], r.name);
    }

    // --no-gate: the learned check is off, the cheap checks stay.
    const research = Predictor.fromModel(model, metadata, null, { gate: false });
    assert.match(research.warnings[0], /learned check turned off/);
    const open = await research.predict(inputs.slice(2));
    assert.ok(open.every((r) => r.status === 'scored'));
  });

  test('a model without gate data loads: cheap checks only, with a warning', () => {
    const gate = InputGate.forModel(testMetadata(SIZE));
    assert.equal(gate.learned, null);
    assert.match(gate.warnings[0], /no gate data .*cheap checks/);
    const verdicts = gate.judge(
      [{ original: { width: 1, height: 1 }, colourfulness: 0 }],
      new Uint8Array(SIZE * SIZE),
      SIZE,
    );
    assert.equal(verdicts[0].check, 'size');
  });
});
