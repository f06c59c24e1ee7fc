import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeMetrics } from '../../src/metrics/summary.ts';
import { renderModelCard } from '../../src/model/card.ts';
import { evaluationRecord, shiftEvaluationRecord } from '../../src/model/evaluations.ts';
import { readMetadata } from '../../src/model/io.ts';
import type { TrainingSummary } from '../../src/model/metadata.ts';
import { fixtureMetadata } from '../evaluate/model-fixture.ts';

describe('renderModelCard', () => {
  const training: Partial<TrainingSummary> = {
    epochsPlanned: 12,
    epochsRun: 10,
    bestEpoch: 8,
    seconds: 1500,
    secondsPerEpoch: 150,
    imagesPerSecond: 31,
    command: 'npm run -s cxr -- train --data D --out models/default',
    machine: { cpus: 2, cpuModel: 'Test CPU', backend: 'wasm' },
  };
  const metrics = {
    n: 520,
    accuracy: 0.95,
    sensitivity: 0.96,
    specificity: 0.93,
    rocAuc: 0.985,
    ci95: {
      accuracy: [0.93, 0.97],
      sensitivity: [0.94, 0.98],
      specificity: [0.9, 0.96],
      rocAuc: [0.97, 0.99],
    },
  };
  const card = renderModelCard(
    fixtureMetadata(128, {
      metrics,
      training: training as unknown as Record<string, unknown>,
      threshold: 0.3127,
    }),
  );

  it('states the intended use and that it is not a diagnosis', () => {
    assert.match(card, /Not a medical device/);
    assert.match(card, /triage aid/);
    assert.match(card, /Not a diagnosis/);
  });

  it('describes the data and its limits', () => {
    assert.match(card, /children aged 1–5/);
    assert.match(card, /one centre \(Guangzhou/);
    assert.match(card, /anterior-posterior views only/);
  });

  it('shows validation metrics with their CIs, the training time and how to reproduce', () => {
    assert.match(card, /\| Sensitivity \(recall of PNEUMONIA\) \| 0\.960 \| 0\.940–0\.980 \|/);
    assert.match(card, /\| ROC-AUC \| 0\.985 \| 0\.970–0\.990 \|/);
    assert.match(card, /25 min 0 s \(2 min 30 s per epoch, 31 images\/s\) on 2 × Test CPU/);
    assert.match(card, /npm run -s cxr -- train --data D --out models\/default/);
    assert.match(card, /threshold:\*\* 0\.3127/);
  });

  it('lists an ensemble member by member (seeds and kept epochs), and rounds times without "60 s"', () => {
    const ensembleCard = renderModelCard({
      ...fixtureMetadata(64, {
        training: { ...training, epochsRun: 30, seconds: 2639.98 } as unknown as Record<string, unknown>,
      }),
      seed: 42,
      ensemble: {
        members: [
          { seed: 42, bestEpoch: 10, epochsRun: 15, temperature: 1.1, valAuc: 0.99 },
          { seed: 43, bestEpoch: 13, epochsRun: 15, temperature: 1.2, valAuc: 0.99 },
        ],
      },
    });
    assert.match(ensembleCard, /\*\*Seed:\*\* 42, 43 \(one per ensemble member/);
    assert.match(
      ensembleCard,
      /an ensemble of 2 networks .* up to 12 epochs each; kept \(best validation loss\): epoch 10 of 15, epoch 13 of 15/,
    );
    assert.doesNotMatch(ensembleCard, /30 of 12 planned/);
    assert.match(ensembleCard, /44 min 0 s/);
    assert.match(
      renderModelCard(
        fixtureMetadata(64, {
          training: { validation: { source: 'carved', images: 500, valFraction: 0.1, design: 'appearance' } },
        }),
      ),
      /500 images \(carved, 10% of training patients, the least typical films by appearance\)/,
    );
  });
});

/** Every "a–b" interval in a text whose two bounds read the same ("1.000–1.000", "100.0%–100.0%"). */
function zeroWidthIntervals(text: string): string[] {
  return [...text.matchAll(/(\d+(?:\.\d+)?%?)–(\d+(?:\.\d+)?%?)/g)]
    .filter((m) => m[1] === m[2])
    .map((m) => m[0]);
}

describe('the model card shows every measurement, honestly', () => {
  // Perfect specificity: every normal image below the threshold. A bootstrap would say 1.000–1.000.
  const labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const probabilities = [
    0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.35, 0.4, 0.3, 0.55, 0.6, 0.7, 0.7, 0.75, 0.8, 0.85, 0.9, 0.9, 0.95, 0.99,
  ];
  const threshold = 0.5;
  const validation = evaluationRecord({
    kind: 'validation',
    name: 'random patient split',
    labels,
    probabilities,
    threshold,
  });
  const shift = shiftEvaluationRecord({
    threshold,
    shifts: [
      {
        name: 'zoom-in-25',
        description: 'tight framing',
        labels,
        probabilities: probabilities.map((p) => Math.min(1, p + 0.2)),
      },
      { name: 'noise', labels, probabilities },
    ],
  });
  const external = evaluationRecord({
    kind: 'external',
    name: 'Hospital B 2027',
    labels,
    probabilities: probabilities.map((p) => Math.min(1, p + 0.1)),
    threshold,
    command: 'cxr evaluate --model m --data hospital-b --attach',
  });
  const card = renderModelCard(
    fixtureMetadata(64, { threshold, evaluations: [validation, shift, external] }),
  );

  it('never shows a zero-width interval, even at a specificity of 1', () => {
    assert.equal(validation.metrics.specificity, 1);
    assert.deepEqual(zeroWidthIntervals(card), []);
    assert.match(card, /\| Specificity \(recall of NORMAL\) \| 1\.000 \| 0\.676–1\.000 \|/);
  });

  it('says plainly that another hospital will do worse and how to check it', () => {
    assert.match(card, /Performance on another hospital's images is lower/);
    assert.match(card, /cxr evaluate --model DIR --data YOUR_IMAGES --attach/);
    assert.match(card, /cxr calibrate --model DIR --data YOUR_IMAGES --out NEW_DIR/);
  });

  it('lists the random split, the shift suite (pooled and per shift) and external results with n', () => {
    assert.match(card, /\| Validation: random patient split \| 20 \(8 NORMAL, 12 PNEUMONIA\) \|/);
    assert.match(card, /\| Shift validation: shift suite \| 40 \(16 NORMAL, 24 PNEUMONIA\) \|/);
    assert.match(card, /\| ↳ zoom-in-25 \(tight framing\) \| 20 \|/);
    assert.match(card, /\| ↳ noise \| 20 \|/);
    assert.match(card, /#### Hospital B 2027/);
    assert.match(card, /Command: `cxr evaluate --model m --data hospital-b --attach`/);
  });

  it('says when the shift suite was not measured and no external result is attached', () => {
    const bare = renderModelCard(fixtureMetadata(64, { evaluations: [validation] }));
    assert.match(bare, /### Shift validation\n\nNot measured for this model\./);
    assert.match(bare, /None attached yet/);
  });

  it("renders the shipped model's card without a zero-width interval", async () => {
    const shipped = await readMetadata('models/default');
    assert.deepEqual(zeroWidthIntervals(renderModelCard(shipped)), []);
  });

  it('shows Wilson intervals for an older model whose stored rate intervals collapsed', () => {
    const legacy = computeMetrics({ labels, probabilities, threshold, bootstrapSamples: 0 });
    const old = { ...legacy, ci95: { ...legacy.ci95, specificity: [1, 1] }, ciMethod: undefined };
    const oldCard = renderModelCard(
      fixtureMetadata(64, { threshold, metrics: old as unknown as Record<string, unknown> }),
    );
    assert.deepEqual(zeroWidthIntervals(oldCard), []);
    assert.match(oldCard, /\| Specificity \(recall of NORMAL\) \| 1\.000 \| 0\.676–1\.000 \|/);
  });
});
