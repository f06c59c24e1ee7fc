/** The Mahalanobis distance with shrinkage, and the float packing the gate stores in metadata.json. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import { fitMahalanobis, mahalanobisDistance, mahalanobisDistances } from '../../src/gate/mahalanobis.ts';
import { packFloats, unpackFloats } from '../../src/gate/packed.ts';

/** n rows of 2 correlated features: x ~ N(0, 1), y = x + small noise (standard normal via Box-Muller). */
function correlated(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const x = normal();
    rows[2 * i] = x;
    rows[2 * i + 1] = x + 0.1 * normal();
  }
  return rows;
}

test('distances follow the correlation: along it small, across it large', () => {
  const model = fitMahalanobis(correlated(4000, 1), 2);
  assert.ok(model.shrinkage >= 0 && model.shrinkage < 0.05, `shrinkage ${model.shrinkage}`);
  const along = mahalanobisDistance(model, [2, 2]);
  const across = mahalanobisDistance(model, [1, -1]);
  // (2, 2) is 2 standard deviations out along the data; (1, -1) breaks the correlation.
  assert.ok(Math.abs(along - 2) < 0.2, `along ${along}`);
  assert.ok(across > 10, `across ${across}`);
  // Squared distances of the fitting rows average the dimension (2) without shrinkage; shrinkage widens the
  // thin direction of the data, so they come out a little below.
  const d = mahalanobisDistances(model, correlated(4000, 1));
  const meanSquare = d.reduce((s, v) => s + v * v, 0) / d.length;
  assert.ok(meanSquare > 1.5 && meanSquare <= 2 + 1e-9, `mean squared distance ${meanSquare}`);
});

test('a constant feature and more features than rows do not break the fit (shrinkage)', () => {
  const rows = new Float64Array(5 * 8);
  const random = seededRandom(3);
  for (let i = 0; i < rows.length; i++) rows[i] = i % 8 === 0 ? 7 : random();
  const model = fitMahalanobis(rows, 8);
  assert.ok(model.shrinkage > 0.1, `few rows need shrinkage, got ${model.shrinkage}`);
  const d = mahalanobisDistances(model, rows);
  assert.ok(d.every(Number.isFinite));
  assert.throws(() => fitMahalanobis([1, 2], 2), /at least 2 rows/);
});

test('packed floats round-trip as float32', () => {
  const values = [0, 1.5, -2.25, Math.PI, 1e-20];
  const packed = packFloats(values);
  assert.equal(packed.length, 5);
  assert.deepEqual(Array.from(unpackFloats(packed)), Array.from(Float32Array.from(values)));
  assert.throws(() => unpackFloats({ ...packed, length: 6 }), /5 values stored, 6 declared/);
});
