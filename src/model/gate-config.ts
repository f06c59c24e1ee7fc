/**
 * `metadata.gate`: what the input gate (src/gate) learnt about the model's training images, so that every
 * reader of the model (predict, serve, evaluate, the browser app) refuses the same inputs. Written by training
 * (and by `cxr gate` for an existing model); a model without it still loads, and its gate runs the cheap checks
 * only. Types only here: the model floor holds the metadata, the gate floor above it reads and writes it.
 */

/** A float32 vector or matrix stored compactly in JSON: little-endian float32 values, base64-encoded. */
export interface PackedFloats {
  encoding: 'float32-base64';
  /** Number of float32 values. */
  length: number;
  data: string;
}

/** Distance percentiles of a set of images (for the model card and for judging the threshold). */
export interface DistanceSummary {
  n: number;
  p50: number;
  p99: number;
  p995: number;
  p999: number;
  max: number;
}

/**
 * The learned check: the Mahalanobis distance of an image's feature vector from the training images' mean,
 * under a shrunk covariance (Ledoit-Wolf), compared with a threshold. The feature vector is the classifier's
 * penultimate features (inputs of the final Dense layer(s), concatenated in member order) followed by the
 * image-appearance features (src/gate/appearance.ts), each standardised by the training mean and spread.
 */
export interface LearnedGateConfig {
  method: 'mahalanobis';
  /** Width of the penultimate feature vector (all members together) and of the appearance block. */
  featureSize: number;
  appearanceSize: number;
  /** Mean of the training features (featureSize + appearanceSize values). */
  mean: PackedFloats;
  /** Per-feature scale the differences are divided by before whitening (training standard deviations). */
  scale: PackedFloats;
  /**
   * Lower-triangular inverse Cholesky factor of the shrunk correlation matrix, row by row
   * (d(d+1)/2 values): distance = ‖L⁻¹ (x − mean) / scale‖.
   */
  whitening: PackedFloats;
  /** Ledoit-Wolf shrinkage intensity towards the identity (0 = sample correlation, 1 = identity). */
  shrinkage: number;
  /** An image whose distance exceeds this is rejected. */
  threshold: number;
  /** How the threshold was chosen, e.g. "99.9th percentile of the validation distances". */
  thresholdRule: string;
  /** What it was fitted on: image counts, and the fingerprint of the training list when known. */
  fittedOn: {
    train: number;
    validation: number;
    trainSha256?: string;
    validationSha256?: string;
  };
  distances: { train: DistanceSummary; validation: DistanceSummary };
  /** Fraction of the validation images the threshold rejects. */
  validationRejectRate: number;
}

export interface GateConfig {
  format: 'pneumoscope-gate';
  version: 1;
  createdAt: string;
  learned: LearnedGateConfig;
  /** How it was made (the command line), when known. */
  command?: string;
}
