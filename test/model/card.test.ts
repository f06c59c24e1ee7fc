import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderModelCard } from '../../src/model/card.ts';
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
});
