/**
 * How long-running work reports progress. Pipeline modules accept an optional `onProgress` callback and never
 * print themselves; the CLI turns the calls into a progress bar (src/cli/progress.ts), the server ignores them.
 */

/** Called as work proceeds: `done` of `total` items, with optional extra fields (e.g. a running loss). */
export type ProgressCallback = (
  done: number,
  total: number,
  fields?: Record<string, string | number>,
) => void;

/** Progress of named phases ("scan data", "score", …): the CLI opens one bar per phase and stops it after. */
export type PhaseProgress = (phase: string) => { update: ProgressCallback; stop(): void };

/** Runs `work` as one named phase, passing it the phase's callback, and stops the bar however the work ends. */
export async function withPhase<T>(
  progress: PhaseProgress | undefined,
  name: string,
  work: (update?: ProgressCallback) => Promise<T>,
): Promise<T> {
  const bar = progress?.(name);
  try {
    return await work(bar?.update);
  } finally {
    bar?.stop();
  }
}
