/**
 * Confidence intervals that stay honest at the edges. A proportion of 0 or 1 (no false positive among 134 normal
 * images, say) still has an interval of positive width: the data cannot rule out a small error rate. The
 * percentile bootstrap cannot see that (every resample of 134 correct answers is 134 correct answers), so
 * proportions use the Wilson score interval (or the exact Clopper–Pearson one), and a ROC-AUC whose bootstrap
 * collapses falls back to a score interval on the Hanley–McNeil variance.
 */

/** A closed interval [lower, upper]; [NaN, NaN] when the quantity is undefined (e.g. no trials). */
export type Interval = [number, number];

/**
 * The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9), e.g.
 * normalQuantile(0.975) ≈ 1.959964.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile: probability ${p} is not in (0, 1)`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = 0.02425;
  if (p < tail || p > 1 - tail) {
    const q = Math.sqrt(-2 * Math.log(p < tail ? p : 1 - p));
    const x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < tail ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

function checkCounts(successes: number, trials: number, what: string): void {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`${what}: ${successes} successes out of ${trials} trials is not a valid count`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level ${level} is not in (0, 1)`);
}

/**
 * The Wilson score interval for a binomial proportion (Wilson 1927): the proportions p whose score test is not
 * rejected, (p̂ − p)² ≤ z² p(1 − p)/n. Never of zero width for n ≥ 1; exactly 0 (1) at the lower (upper) edge
 * when there are no successes (failures). [NaN, NaN] for n = 0.
 */
export function wilsonInterval(successes: number, trials: number, level = 0.95): Interval {
  checkCounts(successes, trials, 'Wilson interval');
  checkLevel(level);
  if (trials === 0) return [Number.NaN, Number.NaN];
  const z = normalQuantile(1 - (1 - level) / 2);
  const z2 = z * z;
  const p = successes / trials;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return [
    successes === 0 ? 0 : Math.max(0, centre - half),
    successes === trials ? 1 : Math.min(1, centre + half),
  ];
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const g = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
    12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = g[0];
  for (let i = 1; i < 9; i++) sum += g[i] / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (const numerator of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** The q-quantile of Beta(a, b), by bisection on I_x(a, b) (monotone in x). */
function betaQuantile(q: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (regularizedBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The Clopper–Pearson ("exact") interval: inverts two one-sided binomial tests, so its coverage is at least the
 * nominal level for every p (conservative). Bounds are Beta quantiles; 0 (1) at the edge.
 */
export function clopperPearsonInterval(successes: number, trials: number, level = 0.95): Interval {
  checkCounts(successes, trials, 'Clopper–Pearson interval');
  checkLevel(level);
  if (trials === 0) return [Number.NaN, Number.NaN];
  const alpha = 1 - level;
  return [
    successes === 0 ? 0 : betaQuantile(alpha / 2, successes, trials - successes + 1),
    successes === trials ? 1 : betaQuantile(1 - alpha / 2, successes + 1, trials - successes),
  ];
}

/**
 * Hanley–McNeil (1982) variance of an empirical ROC-AUC of A with m positives and n negatives, with both group
 * sizes replaced by their mean N* = (m + n)/2 as Newcombe (2006) recommends for score-type intervals:
 * V(A) = A(1 − A)/(mn) · [1 + (N* − 1)((1 − A)/(2 − A) + A/(1 + A))].
 */
export function hanleyMcNeilVariance(auc: number, positives: number, negatives: number): number {
  const nStar = (positives + negatives) / 2;
  const a = auc;
  return ((a * (1 - a)) / (positives * negatives)) * (1 + (nStar - 1) * ((1 - a) / (2 - a) + a / (1 + a)));
}

/**
 * A score-type interval for the ROC-AUC: every A with (Â − A)² ≤ z²·V(A), V the Hanley–McNeil variance at A (not
 * at Â, which is what keeps it from collapsing at Â = 1, as the Wilson interval does for proportions). Used when
 * the bootstrap cannot say anything (every resample perfectly separated). [NaN, NaN] without both classes.
 */
export function aucScoreInterval(auc: number, positives: number, negatives: number, level = 0.95): Interval {
  checkLevel(level);
  if (!(positives > 0 && negatives > 0) || !(auc >= 0 && auc <= 1)) return [Number.NaN, Number.NaN];
  const z = normalQuantile(1 - (1 - level) / 2);
  // f(A) = (Â − A)² − z² V(A) is ≤ 0 at A = Â and ≥ 0 at A = 0 and A = 1 (V vanishes there): bisect each side.
  const f = (a: number) => (auc - a) ** 2 - z * z * hanleyMcNeilVariance(a, positives, negatives);
  const root = (outside: number, inside: number): number => {
    let lo = outside;
    let hi = inside;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return [auc === 0 ? 0 : root(0, auc), auc === 1 ? 1 : root(1, auc)];
}

/** True when an interval has no width (or is undefined): what must never be shown as a confidence interval. */
export function isDegenerate(interval: Interval): boolean {
  return !(Number.isFinite(interval[0]) && Number.isFinite(interval[1])) || !(interval[1] > interval[0]);
}

export interface IntervalFormat {
  /** Decimals to start with (default 3); more are added until the two bounds read differently. */
  digits?: number;
  /** Show as percentages (0.972 → "97.2%"). */
  percent?: boolean;
  /** Text for an undefined interval (default "—"). */
  missing?: string;
}

/**
 * An interval as text that never reads as zero-width: "0.972–1.000", and where the bounds round to the same
 * text, more decimals ("0.99962–1.00000"), up to 8. A degenerate interval (no width) is shown as missing, never
 * as "1.000–1.000".
 */
export function formatInterval(
  interval: readonly unknown[] | undefined,
  format: IntervalFormat = {},
): string {
  const missing = format.missing ?? '—';
  if (!interval) return missing;
  const [lo, hi] = interval;
  if (typeof lo !== 'number' || typeof hi !== 'number' || isDegenerate([lo, hi])) return missing;
  const scale = format.percent ? 100 : 1;
  const unit = format.percent ? '%' : '';
  for (let digits = format.digits ?? 3; ; digits++) {
    const a = (lo * scale).toFixed(digits);
    const b = (hi * scale).toFixed(digits);
    if (a !== b || digits >= 8) return `${a}${unit}–${b}${unit}`;
  }
}
