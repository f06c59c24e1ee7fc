/**
 * End-to-end throughput of `Predictor.predict` on full-resolution JPEGs (read from disk, decoded, batched,
 * scored, through the input gate): `node --import tsx scripts/bench-predict.ts [--model DIR] [--count N]
 * [--batch-size B] [--heatmaps] [--no-gate]`. Without --model it scores with a randomly initialised default
 * architecture (the speed is the same; it has no gate data, so only the cheap checks run). `--no-gate` turns the
 * learned check off, to measure what it costs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.ts';
import { getArchitecture } from '../src/model/architectures.ts';
import { expandPaths } from '../src/predict/inputs.ts';
import { Predictor } from '../src/predict/predictor.ts';
import { saveTestModel } from '../test/helpers/model-fixture.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    images: { type: 'string', default: '../shared/datasets/fullres_samples' },
    count: { type: 'string', default: '200' },
    'batch-size': { type: 'string', default: '32' },
    backend: { type: 'string', default: 'wasm' },
    heatmaps: { type: 'boolean', default: false },
    'no-fold': { type: 'boolean', default: false },
    'no-gate': { type: 'boolean', default: false },
  },
});

async function randomDefaultModel(dir: string): Promise<void> {
  await saveTestModel({
    dir,
    imageSize: getArchitecture('default').defaultImageSize,
    metadata: {
      name: 'bench-random',
      version: '0',
      createdAt: new Date().toISOString(),
      thresholdRule: 'none',
      seed: 0,
    },
  });
}

const backend = values.backend as 'wasm' | 'cpu';
await initEngine({ backend });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'cxr-bench-predict-'));
try {
  const modelDir = values.model ?? path.join(tmp, 'model');
  if (!values.model) await randomDefaultModel(modelDir);
  const predictor = await Predictor.load(modelDir, {
    backend,
    foldBatchNorm: !values['no-fold'],
    gate: !values['no-gate'],
  });
  const { inputs: files } = await expandPaths([values.images!]);
  const count = Number(values.count);
  const inputs = Array.from({ length: count }, (_, i) => ({ ...files[i % files.length], name: `${i}` }));
  const options = { batchSize: Number(values['batch-size']), heatmaps: values.heatmaps };
  await predictor.predict(inputs.slice(0, options.batchSize), options); // warm-up: kernels, wasm JIT
  const start = performance.now();
  const results = await predictor.predict(inputs, options);
  const seconds = (performance.now() - start) / 1000;
  const failed = results.filter((r) => r.status === 'failed').length;
  const rejected = results.filter((r) => r.status === 'rejected').length;
  const gate = predictor.gate.learned ? 'learned gate on' : 'cheap checks only';
  console.log(
    `${count} images (${files.length} distinct full-resolution files), ${backend}, batch ${options.batchSize}` +
      `${options.heatmaps ? ', heatmaps' : ''}${values['no-fold'] ? ', batch norm not folded' : ''}, ${gate}: ` +
      `${seconds.toFixed(2)} s = ${(count / seconds).toFixed(1)} images/s` +
      `${failed ? ` (${failed} failed)` : ''}${rejected ? ` (${rejected} rejected)` : ''}`,
  );
  predictor.dispose();
} finally {
  await rm(tmp, { recursive: true, force: true });
}
