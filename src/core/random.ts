/**
 * The one seeded-random module. Every random choice in Pneumoscope (patient splits, samples, shuffles,
 * augmentation, initial weights, dropout, bootstrap resamples) is a pure function of a seed and a few counters
 * (epoch, batch, image), so a run reproduces exactly, and a run resumed from a checkpoint draws the numbers it
 * would have drawn had it never stopped, without storing any generator state.
 */

/** A generator of uniform floats in [0, 1). */
export type RandomSource = () => number;

/** mulberry32: uniform floats in [0, 1). Same seed, same sequence. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes a 32-bit value thoroughly (the finaliser of a well-known 32-bit hash); bijective on uint32. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit seed derived from a base seed and labels, e.g. `deriveSeed(seed, 'shuffle', epoch)`. Different label
 * lists give unrelated streams, so adding a new random choice never shifts the numbers of another one.
 */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i));
    h = mix32(h ^ 0x2f); // separator, so ('ab') and ('a', 'b') differ
  }
  return h;
}

/**
 * Mixes two 32-bit numbers into a seed in one cheap step, for the per-image streams of augmentation (called once
 * per image, so lighter than `deriveSeed`). Kept as it is: changing it would change every augmented image.
 */
export function mixSeeds(a: number, b: number): number {
  let h = Math.imul((a ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An integer in [0, n). */
export function randomInt(random: RandomSource, n: number): number {
  return Math.floor(random() * n);
}

/** Shuffles `values` in place (Fisher-Yates) and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(
  values: T,
  random: RandomSource,
): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
  return values;
}

/** A shuffled copy of `items` (Fisher-Yates); `items` is left as it is. */
export function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  return shuffleInPlace(items.slice(), random);
}

/** The numbers 0..n-1 in a seeded random order. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, seededRandom(seed));
}

/**
 * Runs `fn` with `Math.random` replaced by a seeded generator. TF.js draws dropout masks (and other unseeded
 * random ops) from `Math.random`, so this is what makes a training step reproducible. `fn` must be synchronous:
 * nothing else may run while the global is swapped.
 */
export function withSeededMathRandom<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
