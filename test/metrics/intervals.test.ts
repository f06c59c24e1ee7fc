import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aucScoreInterval,
  clopperPearsonInterval,
  formatInterval,
  isDegenerate,
  normalQuantile,
  regularizedBeta,
  wilsonInterval,
} from '../../src/metrics/intervals.ts';

/** Reference values: scipy.stats (norm.ppf, beta.ppf, binomtest(...).proportion_ci('wilson')), 1.17. */
function close(actual: [number, number], expected: [number, number], tolerance = 1e-9): void {
  assert.ok(
    Math.abs(actual[0] - expected[0]) <= tolerance && Math.abs(actual[1] - expected[1]) <= tolerance,
    `${actual} is not ${expected}`,
  );
}

describe('normalQuantile', () => {
  it('matches known quantiles', () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-8);
    assert.ok(Math.abs(normalQuantile(0.995) - 2.5758293035489004) < 1e-8);
    assert.ok(Math.abs(normalQuantile(0.1) + 1.2815515655446004) < 1e-8);
    assert.equal(normalQuantile(0.5), 0);
  });
  it('refuses probabilities outside (0, 1)', () => {
    assert.throws(() => normalQuantile(1), /not in \(0, 1\)/);
  });
});

describe('wilsonInterval', () => {
  it('has positive width at p = 0 and p = 1 with small n', () => {
    close(wilsonInterval(0, 10), [0, 0.2775327998628892]);
    close(wilsonInterval(10, 10), [0.7224672001371107, 1]);
    close(wilsonInterval(0, 1), [0, 0.7934506856227626]);
    close(wilsonInterval(1, 1), [0.20654931437723745, 1]);
    // The shipped model's validation specificity: 134 of 134 normals, once shown as "100.0–100.0".
    close(wilsonInterval(134, 134), [0.9721313249761009, 1]);
  });
  it('matches the textbook example (Newcombe 1998: 81/263 → 0.2553–0.3662)', () => {
    close(wilsonInterval(81, 263), [0.2552885198782742, 0.36620957698280004]);
    close(wilsonInterval(369, 388), [0.9247891078932391, 0.9684292898061204]);
  });
  it('is exactly 0 and 1 at the edges, and NaN with no trials', () => {
    assert.equal(wilsonInterval(0, 5)[0], 0);
    assert.equal(wilsonInterval(5, 5)[1], 1);
    assert.ok(wilsonInterval(0, 0).every(Number.isNaN));
  });
  it('widens with the level and refuses impossible counts', () => {
    const [lo95, hi95] = wilsonInterval(5, 20);
    const [lo99, hi99] = wilsonInterval(5, 20, 0.99);
    assert.ok(lo99 < lo95 && hi99 > hi95);
    assert.throws(() => wilsonInterval(6, 5), /not a valid count/);
    assert.throws(() => wilsonInterval(1.5, 5), /not a valid count/);
    assert.throws(() => wilsonInterval(1, 5, 1), /level/);
  });
});

describe('clopperPearsonInterval', () => {
  it('matches Beta quantiles, including p = 0 and p = 1', () => {
    close(clopperPearsonInterval(0, 10), [0, 0.3084971078187607]);
    close(clopperPearsonInterval(10, 10), [0.6915028921812392, 1]);
    close(clopperPearsonInterval(1, 1), [0.025, 1]);
    close(clopperPearsonInterval(81, 263), [0.25273674558527126, 0.36762192260135135]);
    close(clopperPearsonInterval(5, 20), [0.08657146910143461, 0.49104587170795744]);
  });
  it('is wider than Wilson (it is conservative)', () => {
    const [wl, wh] = wilsonInterval(15, 148);
    const [cl, ch] = clopperPearsonInterval(15, 148);
    assert.ok(cl < wl && ch > wh);
  });
  it('rests on a regularised incomplete beta that is right at known points', () => {
    assert.ok(Math.abs(regularizedBeta(0.5, 2, 2) - 0.5) < 1e-12);
    // I_x(1, b) = 1 − (1 − x)^b
    assert.ok(Math.abs(regularizedBeta(0.3, 1, 4) - (1 - 0.7 ** 4)) < 1e-12);
  });
});

describe('aucScoreInterval', () => {
  it('does not collapse at AUC = 1', () => {
    close(aucScoreInterval(1, 388, 134), [0.9902783873960345, 1], 1e-9);
    close(aucScoreInterval(1, 20, 20), [0.8986681357635511, 1], 1e-9);
    assert.ok(!isDegenerate(aucScoreInterval(1, 5, 5)));
  });
  it('brackets interior estimates (reference: scipy brentq on the same equation)', () => {
    close(aucScoreInterval(0.9, 50, 50), [0.8159163516426874, 0.9462218232342122], 1e-9);
    close(aucScoreInterval(0.5, 10, 10), [0.27351558818989397, 0.726484411810106], 1e-9);
  });
  it('is undefined without both classes', () => {
    assert.ok(aucScoreInterval(1, 0, 10).every(Number.isNaN));
  });
});

describe('isDegenerate', () => {
  it('flags zero-width and undefined intervals only', () => {
    assert.equal(isDegenerate([1, 1]), true);
    assert.equal(isDegenerate([Number.NaN, Number.NaN]), true);
    assert.equal(isDegenerate([0.97, 1]), false);
  });
});

describe('formatInterval', () => {
  it('adds decimals until the bounds differ, so nothing reads as zero-width', () => {
    assert.equal(formatInterval([0.9721313, 1]), '0.972–1.000');
    assert.equal(formatInterval(wilsonInterval(10000, 10000)), '0.9996–1.0000');
    assert.equal(
      formatInterval(wilsonInterval(10000, 10000), { percent: true, digits: 1 }),
      '99.96%–100.00%',
    );
  });
  it('shows undefined and degenerate intervals as missing', () => {
    assert.equal(formatInterval([1, 1]), '—');
    assert.equal(formatInterval([null, null], { missing: '' }), '');
    assert.equal(formatInterval(undefined), '—');
  });
});
