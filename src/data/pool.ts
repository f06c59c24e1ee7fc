/** Bounded concurrency for file and decode work: keeps `limit` promises in flight, results in input order. */
import os from 'node:os';

/** Default number of decodes in flight: sharp runs on libuv's pool, so twice the cores keeps them all busy. */
export function defaultConcurrency(): number {
  return Math.max(2, os.availableParallelism() * 2);
}

/** Maps `items` through `fn` with at most `limit` calls pending at once; results keep the input order. */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  }
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}
