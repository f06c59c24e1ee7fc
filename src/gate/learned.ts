/**
 * The learned check, fitted and applied: Mahalanobis distance (src/gate/mahalanobis.ts) of an image's
 * penultimate features joined with its appearance block (src/gate/appearance.ts) from the training images'
 * mean, against a threshold set on training and validation distances. Browser-safe.
 */
import type { DistanceSummary, LearnedGateConfig } from '../model/gate-config.ts';
import { GATE_APPEARANCE_SIZE, gateAppearance, joinFeatures } from './appearance.ts';
import { fitMahalanobis, type MahalanobisModel, mahalanobisDistances } from './mahalanobis.ts';
import { packFloats, unpackFloats } from './packed.ts';

/** Percentile of the pooled training and validation distances the threshold starts from. */
export const THRESHOLD_PERCENTILE = 99.9;
/**
 * Head-room above that percentile. Validation is carved from the training hospital; images from elsewhere sit a
 * little further out, and refusing a real X-ray costs a reader's time, while every picture in the synthetic
 * non-X-ray set lies at 1.4× the percentile or more (docs/input-gate.md).
 */
export const THRESHOLD_MARGIN = 1.2;

/** Penultimate features and model-size pixels of a set of images. */
export interface FeatureSet {
  /** n × featureSize values. */
  features: ArrayLike<number>;
  /** n × imageSize² grey bytes. */
  pixels: Uint8Array;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function summarise(distances: Float64Array): DistanceSummary {
  const sorted = Float64Array.from(distances).sort();
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    p995: round(percentile(sorted, 0.995)),
    p999: round(percentile(sorted, 0.999)),
    max: round(sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN),
  };
}

function rowsOf(set: FeatureSet, featureSize: number, imageSize: number): Float64Array {
  const n = set.pixels.length / (imageSize * imageSize);
  return joinFeatures(set.features, featureSize, gateAppearance(set.pixels, imageSize), n);
}

/**
 * Fits the learned check on the training images and sets its threshold: the THRESHOLD_PERCENTILE-th percentile
 * of the training and validation distances together, times THRESHOLD_MARGIN.
 */
export function fitLearnedCheck(options: {
  train: FeatureSet;
  validation: FeatureSet;
  featureSize: number;
  imageSize: number;
  fittedOn?: Partial<LearnedGateConfig['fittedOn']>;
}): LearnedGateConfig {
  const { featureSize, imageSize } = options;
  const width = featureSize + GATE_APPEARANCE_SIZE;
  const trainRows = rowsOf(options.train, featureSize, imageSize);
  const validationRows = rowsOf(options.validation, featureSize, imageSize);
  const model = fitMahalanobis(trainRows, width);
  const train = mahalanobisDistances(model, trainRows);
  const validation = mahalanobisDistances(model, validationRows);
  const pooled = Float64Array.from([...train, ...validation]).sort();
  const threshold = percentile(pooled, THRESHOLD_PERCENTILE / 100) * THRESHOLD_MARGIN;
  const rejected = validation.filter((d) => d > threshold).length;
  return {
    method: 'mahalanobis',
    featureSize,
    appearanceSize: GATE_APPEARANCE_SIZE,
    mean: packFloats(model.mean),
    scale: packFloats(model.scale),
    whitening: packFloats(model.whitening),
    shrinkage: model.shrinkage,
    threshold,
    thresholdRule: `${THRESHOLD_PERCENTILE}th percentile of the training and validation distances × ${THRESHOLD_MARGIN}`,
    fittedOn: { ...options.fittedOn, train: train.length, validation: validation.length },
    distances: { train: summarise(train), validation: summarise(validation) },
    validationRejectRate: validation.length > 0 ? rejected / validation.length : 0,
  };
}

/** A fitted learned check, ready to score images. */
export class LearnedCheck {
  readonly config: LearnedGateConfig;
  private readonly model: Pick<MahalanobisModel, 'dimension' | 'mean' | 'scale' | 'whitening'>;

  constructor(config: LearnedGateConfig) {
    const dimension = config.featureSize + config.appearanceSize;
    if (config.method !== 'mahalanobis') throw new Error(`input gate: unknown method ${config.method}`);
    if (config.appearanceSize !== GATE_APPEARANCE_SIZE) {
      throw new Error(
        `input gate: fitted with ${config.appearanceSize} appearance features, this version computes ${GATE_APPEARANCE_SIZE}; refit it with \`cxr gate\``,
      );
    }
    const model = {
      dimension,
      mean: unpackFloats(config.mean, 'gate.learned.mean'),
      scale: unpackFloats(config.scale, 'gate.learned.scale'),
      whitening: unpackFloats(config.whitening, 'gate.learned.whitening'),
    };
    if (model.mean.length !== dimension || model.scale.length !== dimension) {
      throw new Error(`input gate: mean/scale do not have ${dimension} values`);
    }
    if (model.whitening.length !== (dimension * (dimension + 1)) / 2) {
      throw new Error(`input gate: whitening matrix does not fit ${dimension} features`);
    }
    this.config = config;
    this.model = model;
  }

  get featureSize(): number {
    return this.config.featureSize;
  }

  get threshold(): number {
    return this.config.threshold;
  }

  /** The distance of each image (penultimate features and model-size pixels, n of each). */
  distances(set: FeatureSet, imageSize: number): Float64Array {
    return mahalanobisDistances(this.model, rowsOf(set, this.config.featureSize, imageSize));
  }
}
