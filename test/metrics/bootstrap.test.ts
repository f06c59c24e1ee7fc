import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/random.ts';
import { bootstrapConfidenceIntervals, quantileSorted } from '../../src/metrics/bootstrap.ts';
import { rocAuc } from '../../src/metrics/roc.ts';

function noisyScores(n: number, seed: number): { labels: number[]; probabilities: number[] } {
  const random = seededRandom(seed);
  const labels: number[] = [];
  const probabilities: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 3 === 0 ? 0 : 1;
    labels.push(y);
    probabilities.push(Math.min(1, Math.max(0, 0.3 + 0.4 * y + (random() - 0.5) * 0.8)));
  }
  return { labels, probabilities };
}

describe('bootstrapConfidenceIntervals', () => {
  const data = noisyScores(300, 1);
  const statistics = { rocAuc: (y: Uint8Array, p: Float64Array) => rocAuc(y, p) };

  it('brackets the point estimate and is reproducible for a seed', () => {
    const a = bootstrapConfidenceIntervals({ ...data, statistics, samples: 1000, seed: 3 });
    const b = bootstrapConfidenceIntervals({ ...data, statistics, samples: 1000, seed: 3 });
    const c = bootstrapConfidenceIntervals({ ...data, statistics, samples: 1000, seed: 4 });
    const auc = rocAuc(data.labels, data.probabilities);
    assert.ok(a.rocAuc[0] < auc && auc < a.rocAuc[1], `${a.rocAuc} around ${auc}`);
    assert.ok(a.rocAuc[1] - a.rocAuc[0] < 0.2);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('keeps the class counts in every resample', () => {
    const positives = (y: Uint8Array) => y.reduce((s, v) => s + v, 0);
    const ci = bootstrapConfidenceIntervals({ ...data, statistics: { positives }, samples: 50 });
    assert.deepEqual(ci.positives, [200, 200]);
  });

  it('interpolates quantiles between order statistics', () => {
    assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.5), 3);
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantileSorted([0, 10], 0.025), 0.25);
  });
});
