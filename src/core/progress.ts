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
