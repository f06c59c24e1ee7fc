/**
 * Scoring on this device: the server's model files (served at /model/) run in the browser with TF.js on its
 * WebAssembly backend (binaries served by the server from node_modules, no CDN), so the X-ray never leaves the
 * machine. The steps are the server's, through the same modules: decode (./decode.ts, DICOM with the server's
 * decoder), resize as libvips does (src/data/resample.ts), the input gate (src/gate: cheap checks, then the
 * learned check on the penultimate features from the same forward pass), score and calibrate
 * (src/model/infer.ts), Grad-CAM (src/explain/gradcam.ts), the model's stored threshold.
 *
 * Loaded as its own chunk, only when the user asks for on-device scoring.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isFlagged } from '../core/format.ts';
import { DecodeError } from '../data/decode-error.ts';
import { modelInputPixels } from '../data/resample.ts';
import { gradCam } from '../explain/gradcam.ts';
import { concatFeatures, type FeatureModel, withFeatures } from '../gate/features.ts';
import { type ImageFacts, InputGate } from '../gate/gate.ts';
import { batchTensor, calibrateAll, predictOutputs, predictRawProbabilities } from '../model/infer.ts';
import type { ModelMetadata } from '../model/metadata.ts';
import type { GradCamMap } from './api.ts';
import { decodeFile, thumbnailOf } from './decode.ts';
import type { Outcome } from './items.ts';
import type { Scorer } from './scoring.ts';

/** Why on-device scoring could not start, worded for the user. */
export class DeviceUnavailableError extends Error {}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (response.status === 404) {
    throw new DeviceUnavailableError('this server does not offer its model for on-device scoring');
  }
  if (!response.ok) throw new DeviceUnavailableError(`could not load ${url} (${response.status})`);
  return (await response.json()) as T;
}

export class DeviceScorer implements Scorer {
  readonly where = 'device' as const;
  readonly metadata: ModelMetadata;
  /** The server's input gate for this model (learned check included when the model carries one). */
  readonly gate: InputGate;
  private readonly model: tfl.LayersModel;
  /** The model with its penultimate features as extra outputs, when the learned check runs. */
  private readonly featureModel: FeatureModel | null;
  /** Model-input pixels of each scored file, so Grad-CAM needs no second decode. */
  private readonly pixels = new WeakMap<File, Uint8Array>();

  private constructor(model: tfl.LayersModel, metadata: ModelMetadata) {
    this.model = model;
    this.metadata = metadata;
    this.gate = InputGate.forModel(metadata);
    this.featureModel = this.gate.learned ? withFeatures(model) : null;
    if (this.featureModel && this.featureModel.featureSize !== this.gate.featureSize) {
      throw new DeviceUnavailableError(
        `the model's input gate was fitted on ${this.gate.featureSize} features, the model has ${this.featureModel.featureSize}`,
      );
    }
  }

  /** Why the gate is weaker than on a model fitted for it (shown beside the switch). */
  get warnings(): string[] {
    return this.gate.warnings;
  }

  /** Raw probability and the gate's verdict for one image, from one forward pass. */
  private async judge(pixels: Uint8Array, facts: ImageFacts) {
    const size = this.metadata.preprocessing.imageSize;
    const options = { imageSize: size, batchSize: 1 };
    if (!this.featureModel) {
      const raw = await predictRawProbabilities(this.model, pixels, options);
      return { raw, verdict: this.gate.judge([facts], pixels, size, null)[0] };
    }
    const outputs = await predictOutputs(this.featureModel.model, pixels, options);
    const features = concatFeatures(outputs.slice(1), this.featureModel.widths, 1);
    return { raw: outputs[0], verdict: this.gate.judge([facts], pixels, size, features)[0] };
  }

  /** Starts TF.js on WebAssembly and loads the server's model files. */
  static async load(): Promise<DeviceScorer> {
    const metadata = await fetchJson<ModelMetadata>('/model/metadata.json');
    const { preprocessing } = metadata;
    if (preprocessing.channels !== 1 || preprocessing.resize !== 'stretch') {
      throw new DeviceUnavailableError(
        `this model's preprocessing (${preprocessing.channels} channels, ${preprocessing.resize}) is not supported on the device`,
      );
    }
    setWasmPaths('/vendor/tfjs-wasm/');
    if (!(await tf.setBackend('wasm'))) {
      throw new DeviceUnavailableError('this browser cannot run WebAssembly');
    }
    await tf.ready();
    const model = await tfl.loadLayersModel('/model/model.json');
    return new DeviceScorer(model, metadata);
  }

  private base(): Pick<Outcome, 'threshold' | 'model'> {
    return {
      threshold: this.metadata.threshold,
      model: { name: this.metadata.name, version: this.metadata.version },
    };
  }

  async score(file: File): Promise<Outcome> {
    let decoded: Awaited<ReturnType<typeof decodeFile>>;
    try {
      decoded = await decodeFile(file);
    } catch (err) {
      const error =
        err instanceof DecodeError
          ? { code: err.code, message: err.message }
          : { code: 'failed', message: (err as Error).message ?? String(err) };
      return { status: 'failed', error, ...this.base() };
    }
    const size = this.metadata.preprocessing.imageSize;
    const pixels = modelInputPixels(decoded.image, size);
    this.pixels.set(file, pixels);
    const facts: ImageFacts = {
      original: { width: decoded.image.width, height: decoded.image.height },
      colourfulness: decoded.colourfulness,
      ...(decoded.dicom ? { dicom: decoded.dicom } : {}),
    };
    const { raw, verdict } = await this.judge(pixels, facts);
    const [probability] = calibrateAll(raw, this.metadata.calibration);
    const thumbnail = await thumbnailOf(decoded.image);
    const warnings = decoded.warnings.length > 0 ? decoded.warnings : undefined;
    if (!verdict.passed) {
      // Never labelled or flagged: the probability is kept for transparency only, as on the server.
      return { status: 'rejected', reason: verdict.reason, probability, warnings, thumbnail, ...this.base() };
    }
    const flagged = isFlagged(probability, this.metadata.threshold);
    const [negative, positive] = this.metadata.classNames;
    return {
      status: 'scored',
      probability,
      flagged,
      label: (flagged ? positive : negative) as Outcome['label'],
      warnings,
      thumbnail,
      ...this.base(),
    };
  }

  async explain(file: File): Promise<GradCamMap> {
    const size = this.metadata.preprocessing.imageSize;
    let pixels = this.pixels.get(file);
    if (!pixels) {
      const decoded = await decodeFile(file);
      pixels = modelInputPixels(decoded.image, size);
    }
    const input = batchTensor(pixels, size, 0, 1);
    try {
      const { cams } = gradCam(this.model, input);
      const [cam] = cams;
      return { width: cam.width, height: cam.height, values: Array.from(cam.data) };
    } finally {
      input.dispose();
    }
  }
}
