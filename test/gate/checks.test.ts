/** The input gate's cheap checks, each on a made image, and the DICOM attribute checks on real fixtures. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { decodeResized } from '../../src/data/decode.ts';
import {
  cheapChecks,
  greySpread,
  type ImageFacts,
  MAX_ASPECT,
  MAX_COLOURFULNESS,
  MIN_SIDE,
  MIN_SPREAD,
} from '../../src/gate/checks.ts';

const SIZE = 32;
/** Model-size pixels with a full grey ramp: passes the contrast check. */
const ramp = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i * 255) / (SIZE * SIZE - 1));
const xray: ImageFacts = { original: { width: 1400, height: 1100 }, colourfulness: 0 };

async function facts(bytes: Uint8Array): Promise<{ facts: ImageFacts; pixels: Uint8Array }> {
  const d = await decodeResized(bytes, SIZE);
  return {
    facts: { original: d.original, colourfulness: d.colourfulness, dicom: d.dicom },
    pixels: d.pixels,
  };
}

describe('cheap checks', () => {
  test('an ordinary grey X-ray-sized image passes; the 224 × 224 training copies pass', () => {
    assert.equal(cheapChecks(xray, ramp), null);
    assert.equal(cheapChecks({ ...xray, original: { width: 224, height: 224 } }, ramp), null);
  });

  test('too small: a 1 × 1 image and anything under the minimum side', () => {
    const one = cheapChecks({ ...xray, original: { width: 1, height: 1 } }, ramp);
    assert.equal(one?.check, 'size');
    assert.match(one!.reason, /too small .*1 × 1 pixels/);
    assert.equal(
      cheapChecks({ ...xray, original: { width: 500, height: MIN_SIDE - 1 } }, ramp)?.check,
      'size',
    );
  });

  test('extreme aspect ratio', () => {
    const strip = cheapChecks({ ...xray, original: { width: 1600, height: 200 } }, ramp);
    assert.equal(strip?.check, 'aspect');
    assert.match(strip!.reason, /^does not look like a chest X-ray: extreme aspect ratio \(8\.0:1\)/);
    const wide = Math.floor(1000 * MAX_ASPECT);
    assert.equal(cheapChecks({ ...xray, original: { width: wide, height: 1000 } }, ramp), null);
  });

  test('almost uniform: all black, all white, a faint texture', () => {
    for (const value of [0, 255]) {
      const flat = new Uint8Array(SIZE * SIZE).fill(value);
      assert.equal(greySpread(flat), 0);
      assert.equal(cheapChecks(xray, flat)?.check, 'contrast');
    }
    const faint = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => 100 + (i % (MIN_SPREAD - 4)));
    assert.equal(cheapChecks(xray, faint)?.check, 'contrast');
  });

  test('colour: a colour photo is refused with its colourfulness; a faint tint is not', async () => {
    const data = Buffer.alloc(200 * 200 * 3);
    for (let i = 0; i < 200 * 200; i++) data.set([(i * 7) % 256, 120, 255 - ((i * 3) % 256)], i * 3);
    const photo = new Uint8Array(
      await sharp(data, { raw: { width: 200, height: 200, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const decoded = await facts(photo);
    assert.ok(decoded.facts.colourfulness > MAX_COLOURFULNESS);
    const failure = cheapChecks(decoded.facts, decoded.pixels);
    assert.equal(failure?.check, 'colour');
    assert.match(failure!.reason, /^does not look like a chest X-ray: colour picture/);
    // A warm tint over a grey picture (as a photographed film might have) stays under the limit.
    const tint = Buffer.alloc(200 * 200 * 3);
    for (let i = 0; i < 200 * 200; i++) {
      const v = (i * 13) % 256;
      tint.set([Math.min(255, v + 6), v, Math.max(0, v - 6)], i * 3);
    }
    const tinted = await facts(
      new Uint8Array(
        await sharp(tint, { raw: { width: 200, height: 200, channels: 3 } })
          .png()
          .toBuffer(),
      ),
    );
    assert.ok(tinted.facts.colourfulness > 0 && tinted.facts.colourfulness < MAX_COLOURFULNESS);
  });

  test('DICOM: a CT and a lateral view are refused by their attributes; a CR chest PA passes', async () => {
    const fixture = (name: string) =>
      new Uint8Array(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'formats', name)));
    const chest = await facts(fixture('xray-cr-chest-pa.dcm'));
    assert.deepEqual(chest.facts.dicom, { modality: 'CR', bodyPart: 'CHEST', viewPosition: 'PA' });
    assert.equal(cheapChecks(chest.facts, chest.pixels), null);
    const ct = await facts(fixture('xray-ct.dcm'));
    assert.match(cheapChecks(ct.facts, ct.pixels)!.reason, /DICOM Modality is CT, not a radiograph/);
    const lateral = await facts(fixture('xray-lateral.dcm'));
    assert.match(cheapChecks(lateral.facts, lateral.pixels)!.reason, /View Position is LL: .*frontal/);
    const hand = { ...xray, dicom: { modality: 'DX', bodyPart: 'HAND' } };
    assert.match(cheapChecks(hand, ramp)!.reason, /Body Part Examined is HAND, not the chest/);
    // Converted images without a real modality (OT, as img2dcm writes) are judged by their pixels.
    assert.equal(cheapChecks({ ...xray, dicom: { modality: 'OT' } }, ramp), null);
  });
});
