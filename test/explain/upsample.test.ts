import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blendOverlay } from '../../src/explain/overlay.ts';
import { HEAT_FLOOR, heatAlpha, heatLayer } from '../../src/explain/upsample.ts';

test('the cold end of the heat is transparent; the hottest cell reaches the opacity', () => {
  assert.equal(heatAlpha(0, 0.7), 0);
  assert.equal(heatAlpha(HEAT_FLOOR, 0.7), 0);
  assert.ok(Math.abs(heatAlpha(1, 0.7) - 0.7) < 1e-12);
  assert.ok(heatAlpha(0.6, 1) > 0 && heatAlpha(0.6, 1) < 1);
  const layer = heatLayer({ width: 2, height: 1, data: Float32Array.from([0, 1]) }, 2, 1, 1);
  assert.equal(layer[3], 0, 'a cold pixel has alpha 0');
  assert.equal(layer[7], 255, 'the hottest pixel is opaque at opacity 1');
});

test('the server overlay leaves cold regions as the plain film (no whole-film tint)', () => {
  const image = { width: 2, height: 1, data: Uint8Array.from([100, 100]) };
  const rgb = blendOverlay({ image, cam: { width: 2, height: 1, data: Float32Array.from([0.1, 1]) } });
  assert.deepEqual([...rgb.slice(0, 3)], [100, 100, 100]);
  assert.notDeepEqual([...rgb.slice(3, 6)], [100, 100, 100]);
});
