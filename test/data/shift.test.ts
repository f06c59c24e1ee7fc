import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyShift, SHIFT_SUITE, shiftByName } from '../../src/data/shift.ts';

const SIZE = 24;
const AREA = SIZE * SIZE;

/** Two images: a centred bright square on a dark film, and a horizontal ramp. */
function images(): Uint8Array {
  const px = new Uint8Array(2 * AREA);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      px[y * SIZE + x] = x >= 8 && x < 16 && y >= 8 && y < 16 ? 220 : 30;
      px[AREA + y * SIZE + x] = Math.round((x / (SIZE - 1)) * 255);
    }
  }
  return px;
}

function brightCount(px: Uint8Array, offset: number): number {
  let n = 0;
  for (let i = 0; i < AREA; i++) if (px[offset + i] > 125) n++;
  return n;
}

describe('validation shift suite', () => {
  it('every shift is deterministic for a seed and leaves the input untouched', () => {
    const src = images();
    const copy = src.slice();
    for (const shift of SHIFT_SUITE) {
      assert.deepEqual(applyShift(src, SIZE, shift, 3), applyShift(src, SIZE, shift, 3), shift.name);
      assert.notDeepEqual(applyShift(src, SIZE, shift, 3), src, `${shift.name} changes the pixels`);
    }
    assert.deepEqual(src, copy);
  });

  it('zooming in makes the centre fill more of the frame, zooming out less', () => {
    const src = images();
    const before = brightCount(src, 0);
    assert.ok(brightCount(applyShift(src, SIZE, shiftByName('zoom-in-25')), 0) > before);
    assert.ok(brightCount(applyShift(src, SIZE, shiftByName('zoom-out-15')), 0) < before);
  });

  it('lower contrast pulls values towards mid-grey; gamma 0.7 brightens mid-tones', () => {
    const src = images();
    const low = applyShift(src, SIZE, shiftByName('low-contrast'));
    assert.ok(low[AREA] > src[AREA] && low[2 * AREA - 1] < src[2 * AREA - 1]);
    const bright = applyShift(src, SIZE, shiftByName('gamma-0.7'));
    const mid = AREA + 12;
    assert.ok(bright[mid] > src[mid]);
  });

  it('an unknown shift name lists the known ones', () => {
    assert.throws(() => shiftByName('fisheye'), /known: zoom-in-15/);
  });
});
