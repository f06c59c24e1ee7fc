/**
 * The options of every command that scores a labelled dataset with a saved model (evaluate, calibrate): one
 * definition, so batch size, backend, cache and interval settings read and behave the same in each.
 */
import { type Command, Option } from 'commander';
import { BACKEND_NAMES, type BackendName } from '../engine/backend.ts';
import { DEFAULT_SCORE_BATCH_SIZE } from '../model/infer.ts';
import { integerArg } from './arguments.ts';
import { startProgress } from './progress.ts';

export interface ScoringCommandOptions {
  batchSize: number;
  bootstrap: number;
  backend: BackendName;
  threads?: number;
  cacheDir?: string;
  /** commander sets this to false for --no-cache. */
  cache: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Adds the scoring options; `jsonHelp` says what --json prints for this command. */
export function addScoringOptions(command: Command, jsonHelp: string): Command {
  return command
    .option('-b, --batch-size <n>', 'images per forward pass', integerArg(1), DEFAULT_SCORE_BATCH_SIZE)
    .option(
      '--bootstrap <n>',
      'bootstrap resamples for the ROC-AUC interval (0: score interval only)',
      integerArg(0),
      1000,
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--threads <n>', 'wasm threads (default $CXR_WASM_THREADS, else 2)', integerArg(1))
    .option('--cache-dir <dir>', 'decoded-pixel cache (default .cache/pixels or $CXR_CACHE_DIR)')
    .option('--no-cache', 'decode every image, and do not store the result')
    .option('--json', jsonHelp)
    .option('-q, --quiet', 'no progress bars');
}

/** The workflow settings the scoring options stand for. */
export function scoringSettings(o: ScoringCommandOptions) {
  return {
    batchSize: o.batchSize,
    backend: o.backend,
    threads: o.threads,
    cacheDir: o.cache ? o.cacheDir : null,
    bootstrapSamples: o.bootstrap,
    progress: (phase: string) => startProgress(phase, { quiet: o.quiet }),
  };
}
