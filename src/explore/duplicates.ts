/**
 * Duplicate detection for leakage checks: exact duplicates share a content hash (sha256 of the file bytes);
 * near-duplicates (re-encoded, resized or slightly re-exposed copies) have perceptual hashes within a small
 * Hamming distance. Either kind is worst when the copies sit in different splits: the model is then tested on
 * images it trained on.
 */
import type { ClassName, SplitName } from '../core/types.ts';

/** The image fields duplicate detection needs. */
export interface HashedImage {
  path: string;
  split: SplitName;
  label: ClassName;
  /** sha256 of the file bytes. */
  sha256: string;
}

/** Images that are copies of one another. */
export interface DuplicateGroup {
  /** The group's files, sorted by path. */
  members: HashedImage[];
  /** The copies sit in more than one split (train/test leakage). */
  crossSplit: boolean;
  /** The copies carry different labels (a labelling error somewhere). */
  labelConflict: boolean;
}

/** Side of the difference-hash grid: 16 gives 16 x 16 = 256 bits. */
export const DHASH_SIZE = 16;
/**
 * Largest Hamming distance (out of 256 bits) still called a near-duplicate. Re-encoding at JPEG quality 60 plus a
 * 5% brightness change moves the hash by ~4 bits; on the 5,216 training images the nearest distinct image is at
 * 17 bits or more for 99% of images, and the closest pair of different children we found sits at 12. `cxr
 * explore` reports those distance percentiles so the threshold can be judged on other data.
 */
export const NEAR_DUPLICATE_THRESHOLD = 8;

function groupFrom(members: HashedImage[]): DuplicateGroup {
  const sorted = [...members].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    members: sorted,
    crossSplit: new Set(sorted.map((m) => m.split)).size > 1,
    labelConflict: new Set(sorted.map((m) => m.label)).size > 1,
  };
}

function byFirstPath(a: DuplicateGroup, b: DuplicateGroup): number {
  const pa = a.members[0].path;
  const pb = b.members[0].path;
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** Groups of byte-identical files (two or more members each), sorted by first path. */
export function exactDuplicates(images: readonly HashedImage[]): DuplicateGroup[] {
  const bySha = new Map<string, HashedImage[]>();
  for (const image of images) {
    const list = bySha.get(image.sha256);
    if (list) list.push(image);
    else bySha.set(image.sha256, [image]);
  }
  return [...bySha.values()]
    .filter((g) => g.length > 1)
    .map(groupFrom)
    .sort(byFirstPath);
}

/**
 * Difference hash of a square grey image (`side` x `side` pixels): box-shrinks it to (n+1) x n cells and sets
 * one bit per cell where the cell is brighter than its right neighbour. Returns n²/32 32-bit words.
 */
export function differenceHash(pixels: Uint8Array, side: number, n = DHASH_SIZE): Uint32Array {
  const cols = n + 1;
  const cells = new Float64Array(cols * n);
  const counts = new Uint32Array(cols * n);
  // Cell lookups computed once per image: the pixel loop then only adds (it runs for every pixel of the set).
  const colOf = Uint32Array.from({ length: side }, (_, x) =>
    Math.min(cols - 1, Math.floor((x * cols) / side)),
  );
  for (let y = 0; y < side; y++) {
    const rowBase = Math.min(n - 1, Math.floor((y * n) / side)) * cols;
    const offset = y * side;
    for (let x = 0; x < side; x++) {
      const cell = rowBase + colOf[x];
      cells[cell] += pixels[offset + x];
      counts[cell]++;
    }
  }
  for (let i = 0; i < cells.length; i++) cells[i] /= Math.max(1, counts[i]);
  const hash = new Uint32Array(Math.ceil((n * n) / 32));
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      if (cells[row * cols + col] > cells[row * cols + col + 1]) {
        const bit = row * n + col;
        hash[bit >>> 5] |= 1 << (bit & 31);
      }
    }
  }
  return hash;
}

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Number of differing bits between two hashes of the same length. */
export function hammingDistance(a: Uint32Array, b: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += popcount32(a[i] ^ b[i]);
  return d;
}

export interface NearDuplicateOptions {
  /** Maximum Hamming distance to call two images near-duplicates (default NEAR_DUPLICATE_THRESHOLD). */
  threshold?: number;
}

/** Near-duplicate groups plus how far apart images usually are, to judge the threshold. */
export interface NearDuplicateResult {
  /** Groups (linked by any pair within the threshold) that are not simply byte-identical copies. */
  groups: DuplicateGroup[];
  threshold: number;
  /** Hamming distance from each image to its nearest other image that is not an exact copy: percentiles. */
  nearestDistance: { p1: number; p5: number; median: number };
}

/** Union-find over image indices. */
function makeSets(n: number): { find: (i: number) => number; union: (a: number, b: number) => void } {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const union = (a: number, b: number): void => {
    parent[find(a)] = find(b);
  };
  return { find, union };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Finds near-duplicate groups by comparing every pair of hashes (n² / 2 comparisons of 256-bit hashes: about
 * 14 million for 5,216 images, well under a second). Pairs of byte-identical files are left to
 * `exactDuplicates`; a group is reported only if it holds at least two different contents.
 */
export function nearDuplicates(
  images: readonly HashedImage[],
  hashes: readonly Uint32Array[],
  options: NearDuplicateOptions = {},
): NearDuplicateResult {
  const threshold = options.threshold ?? NEAR_DUPLICATE_THRESHOLD;
  const n = images.length;
  const words = hashes[0]?.length ?? 0;
  // Flat hashes and integer content ids keep the n² loop on typed arrays.
  const flat = new Uint32Array(n * words);
  for (let i = 0; i < n; i++) flat.set(hashes[i], i * words);
  const contentIds = new Map<string, number>();
  const content = Int32Array.from(images, (m) => {
    if (!contentIds.has(m.sha256)) contentIds.set(m.sha256, contentIds.size);
    return contentIds.get(m.sha256)!;
  });
  const sets = makeSets(n);
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const a = i * words;
    for (let j = i + 1; j < n; j++) {
      if (content[i] === content[j]) continue;
      // Stop counting once the pair can change neither image's nearest distance nor the grouping.
      const limit = Math.max(nearest[i], nearest[j], threshold);
      const b = j * words;
      let d = 0;
      for (let w = 0; w < words && d <= limit; w++) d += popcount32(flat[a + w] ^ flat[b + w]);
      if (d < nearest[i]) nearest[i] = d;
      if (d < nearest[j]) nearest[j] = d;
      if (d <= threshold) sets.union(i, j);
    }
  }
  const members = new Map<number, HashedImage[]>();
  images.forEach((image, i) => {
    const root = sets.find(i);
    const list = members.get(root);
    if (list) list.push(image);
    else members.set(root, [image]);
  });
  const groups = [...members.values()]
    .filter((g) => new Set(g.map((m) => m.sha256)).size > 1)
    .map(groupFrom)
    .sort(byFirstPath);
  const distances = Array.from(nearest)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return {
    groups,
    threshold,
    nearestDistance: {
      p1: percentile(distances, 0.01),
      p5: percentile(distances, 0.05),
      median: percentile(distances, 0.5),
    },
  };
}
