/**
 * Image appearance: a few numbers that describe how a film was exposed, processed and framed, not what it shows
 * (exposure, contrast, dynamic range, sharpness, how bright the border is, how much of it is background). They
 * drive the `appearance` validation split: holding out the patients whose films look least like the others is a
 * natural shift (a different system, protocol or processing), where a random split of one hospital hides it.
 */

/** Names of the features `appearanceFeatures` returns, in order. */
export const APPEARANCE_FEATURES = [
  'mean',
  'std',
  'p01',
  'p99',
  'sharpness',
  'borderMean',
  'centreMean',
  'darkFraction',
] as const;

/** The appearance features of one square grey image (size² bytes at `offset`). */
export function appearanceFeatures(pixels: Uint8Array, offset: number, size: number): Float64Array {
  const area = size * size;
  const histogram = new Float64Array(256);
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < area; i++) {
    const v = pixels[offset + i];
    histogram[v]++;
    sum += v;
    squares += v * v;
  }
  const mean = sum / area;
  const std = Math.sqrt(Math.max(0, squares / area - mean * mean));
  const percentile = (q: number) => {
    let count = 0;
    for (let v = 0; v < 256; v++) {
      count += histogram[v];
      if (count >= q * area) return v;
    }
    return 255;
  };
  let dark = 0;
  for (let v = 0; v < 20; v++) dark += histogram[v];
  // Sharpness: log variance of the 4-neighbour Laplacian (edge enhancement and resolution show here).
  let laplacian = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const i = offset + y * size + x;
      const l = 4 * pixels[i] - pixels[i - 1] - pixels[i + 1] - pixels[i - size] - pixels[i + size];
      laplacian += l * l;
    }
  }
  const inner = Math.max(1, (size - 2) * (size - 2));
  const band = Math.max(1, Math.round(size / 16));
  let border = 0;
  let borderCount = 0;
  let centre = 0;
  let centreCount = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = pixels[offset + y * size + x];
      if (y < band || y >= size - band || x < band || x >= size - band) {
        border += v;
        borderCount++;
      } else if (y >= size / 4 && y < (3 * size) / 4 && x >= size / 4 && x < (3 * size) / 4) {
        centre += v;
        centreCount++;
      }
    }
  }
  return Float64Array.from([
    mean,
    std,
    percentile(0.01),
    percentile(0.99),
    Math.log1p(laplacian / inner),
    border / Math.max(1, borderCount),
    centre / Math.max(1, centreCount),
    dark / area,
  ]);
}

/**
 * How atypical each row of `features` is among the rows: the Mahalanobis distance from their mean, with a
 * small ridge on the covariance so correlated or constant features cannot make it singular.
 */
export function atypicality(features: readonly Float64Array[]): Float64Array {
  const n = features.length;
  const d = features[0]?.length ?? 0;
  if (n === 0) return new Float64Array(0);
  const mean = new Float64Array(d);
  for (const row of features) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
  const cov = Array.from({ length: d }, () => new Float64Array(d));
  for (const row of features) {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) cov[a][b] += ((row[a] - mean[a]) * (row[b] - mean[b])) / Math.max(1, n - 1);
    }
  }
  for (let a = 0; a < d; a++) cov[a][a] += 1e-6 + 1e-3 * cov[a][a];
  const inverse = invert(cov);
  return Float64Array.from(features, (row) => {
    let total = 0;
    for (let a = 0; a < d; a++) {
      let inner = 0;
      for (let b = 0; b < d; b++) inner += inverse[a][b] * (row[b] - mean[b]);
      total += (row[a] - mean[a]) * inner;
    }
    return Math.sqrt(Math.max(0, total));
  });
}

/** Gauss-Jordan inverse of a small symmetric positive-definite matrix. */
function invert(matrix: Float64Array[]): Float64Array[] {
  const d = matrix.length;
  const a = matrix.map((row) => Float64Array.from(row));
  const inv = Array.from({ length: d }, (_, i) => {
    const row = new Float64Array(d);
    row[i] = 1;
    return row;
  });
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [inv[col], inv[pivot]] = [inv[pivot], inv[col]];
    const scale = a[col][col];
    if (scale === 0) throw new Error('appearance covariance is singular');
    for (let j = 0; j < d; j++) {
      a[col][j] /= scale;
      inv[col][j] /= scale;
    }
    for (let r = 0; r < d; r++) {
      if (r === col) continue;
      const f = a[r][col];
      if (f === 0) continue;
      for (let j = 0; j < d; j++) {
        a[r][j] -= f * a[col][j];
        inv[r][j] -= f * inv[col][j];
      }
    }
  }
  return inv;
}

/**
 * How tightly a film is framed: edges showing body (bright) rather than background (dark). Tight collimation, or
 * a child filling more of the detector, scores high. Grey levels: border mean minus half the dark share of 255.
 */
export function framingScore(features: Float64Array): number {
  const border = features[APPEARANCE_FEATURES.indexOf('borderMean')];
  const dark = features[APPEARANCE_FEATURES.indexOf('darkFraction')];
  return border - 127.5 * dark;
}

/**
 * One score per image for a scored split design (src/data/split.ts): `framing` = framingScore, `appearance` =
 * atypicality among the images of the same label. `pixels` holds size² bytes per label in `labels` order.
 */
export function splitScores(
  design: 'framing' | 'appearance',
  pixels: Uint8Array,
  size: number,
  labels: ArrayLike<number>,
): Float64Array {
  const area = size * size;
  const features = Array.from({ length: labels.length }, (_, i) =>
    appearanceFeatures(pixels, i * area, size),
  );
  if (design === 'framing') return Float64Array.from(features, framingScore);
  const scores = new Float64Array(labels.length);
  for (const label of [0, 1]) {
    const members = features.flatMap((_, i) => (labels[i] === label ? [i] : []));
    const distance = atypicality(members.map((i) => features[i]));
    members.forEach((i, k) => {
      scores[i] = distance[k];
    });
  }
  return scores;
}
