import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBounds } from '../../src/core/bounds.ts';
import { resolveTrainConfig, TRAIN_CONFIG_BOUNDS, TrainConfigError } from '../../src/train/config.ts';

describe('training config', () => {
  it("fills defaults, the image size from the architecture's preprocessing", () => {
    assert.equal(resolveTrainConfig({}).imageSize, 112);
    assert.equal(resolveTrainConfig({ architecture: 'reference-cnn' }).imageSize, 128);
  });

  it('names the field and its bounds in every error', () => {
    const cases: [Parameters<typeof resolveTrainConfig>[0], string][] = [
      [{ valFraction: 0.5 }, 'valFraction must be a number in (0, 0.5), got 0.5'],
      [{ imageSize: 8 }, 'imageSize must be an integer >= 16, got 8'],
      [{ learningRate: 1 }, 'learningRate must be a number in (0, 1), got 1'],
      [{ seed: -1 }, 'seed must be an integer >= 0, got -1'],
      [{ monitor: 'f1' as 'loss' }, 'monitor must be one of loss, auc, got f1'],
    ];
    for (const [partial, message] of cases) {
      const field = Object.keys(partial)[0];
      assert.throws(
        () => resolveTrainConfig(partial),
        (err: unknown) => err instanceof TrainConfigError && err.field === field && err.message === message,
      );
    }
  });

  it('has one set of bounds, described as the CLI describes them', () => {
    assert.equal(describeBounds(TRAIN_CONFIG_BOUNDS.valFraction), 'a number in (0, 0.5)');
    assert.equal(describeBounds(TRAIN_CONFIG_BOUNDS.epochs), 'an integer >= 1');
  });
});
