/**
 * Model artefacts on disk: a directory with TF.js `model.json` + `weights.bin`, `metadata.json`, and optionally
 * `MODEL_CARD.md`. TF.js has no file-system IO handler without tfjs-node, so this module provides one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type ModelMetadata, validateMetadata } from './metadata.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const METADATA_JSON = 'metadata.json';
export const MODEL_CARD = 'MODEL_CARD.md';

function joinWeights(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

/** A TF.js IOHandler that reads and writes `model.json` + `weights.bin` in `dir`. */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights = joinWeights(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      await writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(dir, MODEL_JSON);
      if (!existsSync(jsonPath)) throw new Error(`${dir}: no ${MODEL_JSON} (is this a model directory?)`);
      const modelJson = JSON.parse(await readFile(jsonPath, 'utf8'));
      const manifest = modelJson.weightsManifest as tf.io.WeightsManifestConfig;
      const weightSpecs = manifest.flatMap((group) => group.weights);
      const buffers = await Promise.all(
        manifest.flatMap((group) => group.paths).map((p) => readFile(path.join(dir, p))),
      );
      const bytes = Buffer.concat(buffers);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        trainingConfig: modelJson.trainingConfig,
        weightSpecs,
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      };
    },
  };
}

export interface SavedModel {
  model: tfl.LayersModel;
  metadata: ModelMetadata;
  /** Contents of MODEL_CARD.md, or null when the directory has none. */
  modelCard: string | null;
  dir: string;
}

/**
 * Writes the model, its metadata and optional model card to `dir`. Writes into a sibling temporary directory and
 * renames it into place, so a run killed mid-save never leaves a half-written checkpoint.
 */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  metadata: ModelMetadata,
  modelCard?: string,
): Promise<void> {
  const tmp = `${dir.replace(/[\\/]+$/, '')}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await model.save(fileSystemHandler(tmp));
  await writeFile(path.join(tmp, METADATA_JSON), `${JSON.stringify(metadata, null, 2)}\n`);
  if (modelCard !== undefined) await writeFile(path.join(tmp, MODEL_CARD), modelCard);
  await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  // Keep files that live beside the model (history.json, report.html) when replacing an existing directory.
  if (existsSync(dir)) {
    for (const name of [
      MODEL_JSON,
      WEIGHTS_BIN,
      METADATA_JSON,
      ...(modelCard !== undefined ? [MODEL_CARD] : []),
    ]) {
      await rename(path.join(tmp, name), path.join(dir, name));
    }
    await rm(tmp, { recursive: true, force: true });
  } else {
    await rename(tmp, dir);
  }
}

/**
 * Replaces metadata.json (and MODEL_CARD.md when given) of an existing model directory. Each file is written
 * to a temporary file beside it and renamed into place, so a reader (a running server, a second command) never
 * sees half a file, and a failed write leaves the old file as it was.
 */
export async function updateMetadata(
  dir: string,
  metadata: ModelMetadata,
  modelCard?: string,
): Promise<void> {
  validateMetadata(metadata, path.join(dir, METADATA_JSON));
  const files: [string, string][] = [[METADATA_JSON, `${JSON.stringify(metadata, null, 2)}\n`]];
  if (modelCard !== undefined) files.push([MODEL_CARD, modelCard]);
  for (const [name, text] of files) {
    const target = path.join(dir, name);
    const tmp = path.join(dir, `.${name}.tmp-${process.pid}`);
    try {
      await writeFile(tmp, text);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/** Reads metadata.json alone (cheap; no weights). */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  const file = path.join(dir, METADATA_JSON);
  if (!existsSync(file))
    throw new Error(`${dir}: no ${METADATA_JSON} (is this a Pneumoscope model directory?)`);
  return validateMetadata(JSON.parse(await readFile(file, 'utf8')), file);
}

/** Loads a model directory. The TF.js engine must be initialised first (see src/engine/backend.ts). */
export async function loadModel(dir: string): Promise<SavedModel> {
  const metadata = await readMetadata(dir);
  const model = await tfl.loadLayersModel(fileSystemHandler(dir));
  const cardPath = path.join(dir, MODEL_CARD);
  const modelCard = existsSync(cardPath) ? await readFile(cardPath, 'utf8') : null;
  return { model, metadata, modelCard, dir };
}
