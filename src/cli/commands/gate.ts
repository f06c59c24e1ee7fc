/** `cxr gate`: fit the input gate's learned check onto an existing model directory (training does it itself). */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { refitGate } from '../../gate/refit.ts';
import { CliError } from '../errors.ts';
import { startProgress } from '../progress.ts';

interface GateCommandOptions {
  model?: string;
  data: string;
  backend: BackendName;
  cacheDir?: string;
  cache: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const HELP_AFTER = `
What it does: reads the model's split.json (which images it was trained and validated on), computes the
classifier's penultimate features and appearance features of those images, fits a Mahalanobis distance with
Ledoit-Wolf shrinkage on the training images, and sets the threshold at the 99.9th percentile of the training
and validation distances times 1.2. The result goes into metadata.json ("gate") and MODEL_CARD.md.
\`cxr train\` fits the gate itself; use this for a model trained before the gate existed. See docs/input-gate.md.

Examples:
  cxr gate --data ../shared/datasets/chest_xray                  fit the gate of the shipped model
  cxr gate --model models/mine --data DATA --dry-run --json      measure without writing`;

async function gate(options: GateCommandOptions): Promise<void> {
  const modelDir = options.model ?? DEFAULT_MODEL_DIR;
  if (!existsSync(modelDir)) throw new CliError(`model directory ${modelDir} does not exist`);
  const command = ['cxr gate', ...process.argv.slice(3)].join(' ');
  let result: Awaited<ReturnType<typeof refitGate>>;
  try {
    result = await refitGate({
      modelDir,
      dataDir: options.data,
      backend: options.backend,
      cacheDir: options.cache ? options.cacheDir : null,
      command,
      dryRun: options.dryRun,
      progress: (phase) => startProgress(phase, { quiet: options.quiet }),
    });
  } catch (err) {
    throw new CliError(`cannot fit the gate of ${modelDir}: ${(err as Error).message}`);
  }
  const learned = result.gate.learned;
  for (const bad of result.skipped) process.stderr.write(`cxr gate: skipped ${bad.path}: ${bad.reason}\n`);
  if (options.json) {
    const { mean: _m, scale: _s, whitening: _w, ...summary } = learned;
    process.stdout.write(`${JSON.stringify({ modelDir, written: !options.dryRun, ...summary }, null, 2)}\n`);
    return;
  }
  const d = learned.distances;
  process.stdout.write(
    `${[
      `${modelDir}: input gate fitted on ${learned.fittedOn.train} training images (${learned.featureSize} penultimate + ${learned.appearanceSize} appearance features)`,
      `  threshold ${learned.threshold.toFixed(2)} (${learned.thresholdRule})`,
      `  training distances   median ${d.train.p50.toFixed(2)}  99.9th ${d.train.p999.toFixed(2)}  max ${d.train.max.toFixed(2)}`,
      `  validation distances median ${d.validation.p50.toFixed(2)}  99.9th ${d.validation.p999.toFixed(2)}  max ${d.validation.max.toFixed(2)}`,
      `  rejects ${(learned.validationRejectRate * 100).toFixed(2)}% of ${learned.fittedOn.validation} validation X-rays`,
      options.dryRun
        ? '  (dry run: nothing written)'
        : `  written to ${modelDir}/metadata.json and MODEL_CARD.md`,
    ].join('\n')}\n`,
  );
}

export function registerGateCommand(program: Command): void {
  program
    .command('gate')
    .description('Fit the input gate (out-of-distribution check) onto an existing model from its own split')
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .requiredOption(
      '-d, --data <dir>',
      'the dataset the model was trained on (its split.json paths are relative to it)',
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--cache-dir <dir>', 'pixel cache folder (default .cache/pixels or $CXR_CACHE_DIR)')
    .option('--no-cache', 'decode every image, do not read or write the pixel cache')
    .option('--dry-run', 'fit and report, but write nothing')
    .option('--json', 'print the fitted gate summary as JSON')
    .option('-q, --quiet', 'no progress bars')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: GateCommandOptions) => gate(options));
}
