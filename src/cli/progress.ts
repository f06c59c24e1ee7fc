/**
 * Progress bars for long work: a bar on stderr when it is a TTY, nothing otherwise (so `--json` output and logs
 * stay clean). The callback type the pipeline modules accept lives in src/core/progress.ts.
 */
import cliProgress from 'cli-progress';
import type { ProgressCallback } from '../core/progress.ts';

export interface ProgressBar {
  update: ProgressCallback;
  stop(): void;
}

/**
 * Starts a progress bar titled `label`. `format` may reference extra fields as {name}. Returns a no-op bar when
 * stderr is not a TTY or `quiet` is set.
 */
export function startProgress(
  label: string,
  options: { quiet?: boolean; format?: string } = {},
): ProgressBar {
  if (options.quiet || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}${options.format ? ` | ${options.format}` : ''}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, fields) {
      if (!started) {
        bar.start(total, 0, fields ?? {});
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, fields ?? {});
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
