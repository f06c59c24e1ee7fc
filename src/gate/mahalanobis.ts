/**
 * Mahalanobis distance with a shrunk covariance, fitted once and applied to new rows: the learned part of the
 * input gate. Browser-safe (no Node imports).
 *
 * Features are standardised (training mean and standard deviation), so the covariance is a correlation matrix;
 * it is shrunk towards the identity by the Ledoit-Wolf (2004) intensity, which keeps it well conditioned when
 * features are many and correlated (an ensemble's members see the same image) and costs nothing when the
 * sample is large. The distance is ‖L⁻¹ z‖ with L the Cholesky factor of the shrunk matrix and z the
 * standardised row.
 */

export interface MahalanobisModel {
  dimension: number;
  mean: Float64Array;
  /** Standard deviation per feature (features with none get 1, so they only count through the mean). */
  scale: Float64Array;
  /** Lower-triangular L⁻¹, row-major packed: row i holds columns 0..i. */
  whitening: Float64Array;
  shrinkage: number;
}

/** Index of (i, j), j ≤ i, in a packed lower triangle. */
function packed(i: number, j: number): number {
  return (i * (i + 1)) / 2 + j;
}

/** Fits the model to `rows` (n rows of `dimension` values, back to back). Needs at least 2 rows. */
export function fitMahalanobis(rows: ArrayLike<number>, dimension: number): MahalanobisModel {
  const d = dimension;
  const n = Math.floor(rows.length / d);
  if (n < 2) throw new Error(`Mahalanobis fit needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += rows[r * d + j] / n;
  const scale = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) scale[j] += (rows[r * d + j] - mean[j]) ** 2 / (n - 1);
  }
  for (let j = 0; j < d; j++) scale[j] = scale[j] > 1e-12 ? Math.sqrt(scale[j]) : 1;
  // Standardised rows, and their sample covariance S (a correlation matrix, up to features without spread).
  const z = new Float64Array(n * d);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < d; j++) z[r * d + j] = (rows[r * d + j] - mean[j]) / scale[j];
  const s = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let a = 0; a < d; a++) {
      const za = z[o + a];
      if (za === 0) continue;
      for (let b = 0; b <= a; b++) s[a * d + b] += za * z[o + b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      s[a * d + b] /= n;
      s[b * d + a] = s[a * d + b];
    }
  }
  const shrinkage = ledoitWolf(z, s, n, d);
  const target = trace(s, d) / d;
  const shrunk = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++)
      shrunk[a * d + b] = (1 - shrinkage) * s[a * d + b] + (a === b ? shrinkage * target : 0);
    // A floor on the diagonal: a feature constant in training (all zero after a ReLU) must not make S singular.
    shrunk[a * d + a] += 1e-6;
  }
  return { dimension: d, mean, scale, whitening: invertLower(cholesky(shrunk, d), d), shrinkage };
}

function trace(m: Float64Array, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += m[i * d + i];
  return t;
}

/** Ledoit-Wolf shrinkage intensity towards (tr S / d)·I, for standardised rows z with sample covariance s. */
function ledoitWolf(z: Float64Array, s: Float64Array, n: number, d: number): number {
  const mu = trace(s, d) / d;
  let delta = 0;
  let sNorm = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      const v = s[a * d + b];
      sNorm += v * v;
      delta += (v - (a === b ? mu : 0)) ** 2;
    }
  }
  // Σ_k ‖z_k z_kᵀ − S‖²_F = Σ_k (‖z_k‖⁴ − 2 z_kᵀ S z_k) + n ‖S‖²_F
  let beta = 0;
  for (let r = 0; r < n; r++) {
    const o = r * d;
    let norm2 = 0;
    for (let a = 0; a < d; a++) norm2 += z[o + a] * z[o + a];
    let quad = 0;
    for (let a = 0; a < d; a++) {
      let acc = 0;
      for (let b = 0; b < d; b++) acc += s[a * d + b] * z[o + b];
      quad += z[o + a] * acc;
    }
    beta += norm2 * norm2 - 2 * quad + sNorm;
  }
  beta /= n * n;
  if (!(delta > 0)) return 1;
  return Math.min(1, Math.max(0, Math.min(beta, delta) / delta));
}

/** Cholesky factor (packed lower triangle) of a symmetric positive-definite d × d matrix. */
function cholesky(m: Float64Array, d: number): Float64Array {
  const l = new Float64Array((d * (d + 1)) / 2);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = m[i * d + j];
      for (let k = 0; k < j; k++) sum -= l[packed(i, k)] * l[packed(j, k)];
      if (i === j) {
        if (!(sum > 0)) throw new Error('Mahalanobis fit: covariance is not positive definite');
        l[packed(i, i)] = Math.sqrt(sum);
      } else {
        l[packed(i, j)] = sum / l[packed(j, j)];
      }
    }
  }
  return l;
}

/** Inverse of a packed lower-triangular matrix (itself lower-triangular). */
function invertLower(l: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(l.length);
  for (let i = 0; i < d; i++) {
    inv[packed(i, i)] = 1 / l[packed(i, i)];
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum += l[packed(i, k)] * inv[packed(k, j)];
      inv[packed(i, j)] = -sum / l[packed(i, i)];
    }
  }
  return inv;
}

/** The distance of one row (`dimension` values at `offset`) from the fitted mean. */
export function mahalanobisDistance(
  model: Pick<MahalanobisModel, 'dimension' | 'mean' | 'scale' | 'whitening'>,
  row: ArrayLike<number>,
  offset = 0,
): number {
  const d = model.dimension;
  const z = new Float64Array(d);
  for (let j = 0; j < d; j++) z[j] = (row[offset + j] - model.mean[j]) / model.scale[j];
  let total = 0;
  for (let i = 0; i < d; i++) {
    let acc = 0;
    const base = (i * (i + 1)) / 2;
    for (let j = 0; j <= i; j++) acc += model.whitening[base + j] * z[j];
    total += acc * acc;
  }
  return Math.sqrt(total);
}

/** Distances of every row of `rows`. */
export function mahalanobisDistances(
  model: Pick<MahalanobisModel, 'dimension' | 'mean' | 'scale' | 'whitening'>,
  rows: ArrayLike<number>,
): Float64Array {
  const n = Math.floor(rows.length / model.dimension);
  return Float64Array.from({ length: n }, (_, r) => mahalanobisDistance(model, rows, r * model.dimension));
}
