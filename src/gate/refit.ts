/**
 * Fitting the input gate onto a model that is already trained (`cxr gate`): the model's own split.json names its
 * training and validation images, their pixels come through the usual loader (and cache), and the fitted gate
 * is written into metadata.json and the model card. Training does the same in its finalize step.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ProgressCallback } from '../core/progress.ts';
import { discoverDataset } from '../data/discover.ts';
import { dataFingerprint } from '../data/fingerprint.ts';
import { loadPixels } from '../data/pixels.ts';
import { applySplitManifest, readSplitManifest } from '../data/split.ts';
import { type BackendName, initEngine } from '../engine/backend.ts';
import { renderModelCard } from '../model/card.ts';
import type { GateConfig } from '../model/gate-config.ts';
import { loadModel, updateMetadata } from '../model/io.ts';
import { fitGate } from './fit.ts';

export interface RefitOptions {
  modelDir: string;
  dataDir: string;
  cacheDir?: string | null;
  backend?: BackendName;
  /** Recorded in metadata.gate.command. */
  command?: string;
  /** Don't write anything; just return the fitted gate. */
  dryRun?: boolean;
  progress?: (phase: string) => { update: ProgressCallback; stop(): void };
}

export interface RefitResult {
  gate: GateConfig;
  /** Files of the split that could not be decoded (left out of the fit). */
  skipped: { path: string; reason: string }[];
}

async function phase<T>(options: RefitOptions, name: string, work: (p?: ProgressCallback) => Promise<T>) {
  const bar = options.progress?.(name);
  try {
    return await work(bar?.update);
  } finally {
    bar?.stop();
  }
}

export async function refitGate(options: RefitOptions): Promise<RefitResult> {
  const splitFile = path.join(options.modelDir, 'split.json');
  if (!existsSync(splitFile)) {
    throw new Error(
      `${options.modelDir} has no split.json, so its training images cannot be told from its validation images`,
    );
  }
  await initEngine({ backend: options.backend });
  const saved = await loadModel(options.modelDir);
  try {
    const manifest = await readSplitManifest(splitFile);
    const dataset = await phase(options, 'scan data', (onProgress) =>
      discoverDataset(options.dataDir, { onProgress }),
    );
    const split = applySplitManifest(manifest, dataset.records, dataset.root);
    const imageSize = saved.metadata.preprocessing.imageSize;
    const load = (records: typeof split.train, name: string) =>
      phase(options, name, (onProgress) =>
        loadPixels(records, { imageSize, cacheDir: options.cacheDir, onProgress }),
      );
    const train = await load(split.train, 'load training images');
    const validation = await load(split.val, 'load validation images');
    const gate = await phase(options, 'fit gate', (onProgress) =>
      fitGate(
        saved.model,
        {
          imageSize,
          train: train.pixels,
          validation: validation.pixels,
          trainSha256: dataFingerprint(train.records, dataset.root).sha256,
          validationSha256: dataFingerprint(validation.records, dataset.root).sha256,
          command: options.command,
        },
        { onProgress },
      ),
    );
    if (!options.dryRun) {
      const metadata = { ...saved.metadata, gate };
      await updateMetadata(options.modelDir, metadata, renderModelCard(metadata));
    }
    return { gate, skipped: [...train.bad, ...validation.bad] };
  } finally {
    saved.model.dispose();
  }
}
