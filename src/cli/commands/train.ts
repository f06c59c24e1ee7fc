/** `cxr train`: train a model on a dataset in the Kaggle layout and write a complete model directory. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { AUGMENTATION_PRESETS } from '../../data/augment.ts';
import { SPLIT_DESIGNS, type SplitDesign } from '../../data/split.ts';
import { BACKEND_NAMES, type BackendName } from '../../engine/backend.ts';
import { THRESHOLD_RULES, type ThresholdRuleName } from '../../metrics/threshold.ts';
import { ARCHITECTURES } from '../../model/architectures.ts';
import {
  DEFAULT_TRAIN_CONFIG,
  MONITORS,
  TRAIN_CONFIG_BOUNDS,
  type TrainConfig,
  TrainConfigError,
} from '../../train/config.ts';
import type { MonitorName } from '../../train/loop.ts';
import { type TrainReporter, type TrainResult, trainModel } from '../../train/train.ts';
import { boundedArg, integerArg, recordedCommand } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { startProgress } from '../progress.ts';

interface TrainCommandOptions {
  data: string;
  out: string;
  valDir?: string;
  arch?: string;
  imageSize?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  valFraction?: number;
  seed?: number;
  splitSeed?: number;
  members?: number;
  valSplit?: SplitDesign;
  patience?: number;
  monitor?: MonitorName;
  thresholdRule?: ThresholdRuleName;
  /** A strength name, or false for --no-augment (commander's negation of --augment). */
  augment: string | boolean;
  resume?: boolean;
  force?: boolean;
  backend: BackendName;
  threads?: number;
  cacheDir?: string;
  /** commander sets this to false for --no-cache. */
  cache: boolean;
  keepCheckpoints?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** The flag that sets each TrainConfig field, so a config error names what the user typed. */
const FLAGS: Partial<Record<keyof TrainConfig, string>> = {
  architecture: '--arch',
  imageSize: '--image-size',
  epochs: '--epochs',
  batchSize: '--batch-size',
  learningRate: '--lr',
  valFraction: '--val-fraction',
  seed: '--seed',
  splitSeed: '--split-seed',
  augmentation: '--augment',
  members: '--members',
  valSplit: '--val-split',
  monitor: '--monitor',
  patience: '--patience',
  thresholdRule: '--threshold-rule',
};

/** The user's settings only (undefined = default), so a resumed run can tell which ones were asked for. */
function requestedConfig(o: TrainCommandOptions): Partial<TrainConfig> {
  return {
    architecture: o.arch,
    imageSize: o.imageSize,
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.lr,
    valFraction: o.valFraction,
    seed: o.seed,
    splitSeed: o.splitSeed,
    members: o.members,
    valSplit: o.valSplit,
    patience: o.patience,
    monitor: o.monitor,
    thresholdRule: o.thresholdRule,
    augment: o.augment === false || o.augment === 'none' ? false : undefined,
    augmentation:
      typeof o.augment === 'string' && o.augment !== 'none'
        ? (o.augment as TrainConfig['augmentation'])
        : undefined,
  };
}

/** The command line to record for reproduction (without --resume and --force, which only matter to the folder). */
function reproducibleCommand(): string {
  return recordedCommand(['--resume', '--force']);
}

function reporter(o: TrainCommandOptions): TrainReporter {
  // With --json, stdout carries only the final JSON: epoch lines go to stderr.
  const logStream = o.json ? process.stderr : process.stdout;
  return {
    phase: (name) =>
      startProgress(name, {
        quiet: o.quiet,
        format: name.startsWith('epoch') ? 'loss {loss} | {ips} img/s' : undefined,
      }),
    log: (line) => {
      if (!o.quiet) logStream.write(`${line}\n`);
    },
    warn: (message) => process.stderr.write(`cxr train: warning: ${message}\n`),
  };
}

function summary(result: TrainResult): Record<string, unknown> {
  const { metadata } = result;
  return {
    outDir: result.outDir,
    architecture: metadata.architecture,
    imageSize: metadata.preprocessing.imageSize,
    threshold: metadata.threshold,
    thresholdRule: metadata.thresholdRule,
    temperature: metadata.calibration.method === 'temperature' ? metadata.calibration.temperature : null,
    training: metadata.training,
    validation: metadata.metrics,
  };
}

function printSummary(result: TrainResult): void {
  const m = result.metadata.metrics as {
    accuracy: number;
    sensitivity: number;
    specificity: number;
    rocAuc: number;
  };
  const t = result.metadata.training as { seconds: number; bestEpoch: number };
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  process.stdout.write(
    `saved ${result.outDir} (best epoch ${t.bestEpoch}, ${Math.round(t.seconds)} s of training)\n` +
      `validation at threshold ${result.metadata.threshold.toFixed(4)} (${result.metadata.thresholdRule}): ` +
      `accuracy ${f(m.accuracy)}, sensitivity ${f(m.sensitivity)}, specificity ${f(m.specificity)}, ` +
      `ROC-AUC ${f(m.rocAuc)}\n` +
      'see report.html and MODEL_CARD.md in the model directory. Not a medical device.\n',
  );
}

/** A finished model is never overwritten by accident (the shipped models/default included): --force says so. */
function refuseToOverwrite(o: TrainCommandOptions): void {
  if (o.resume || o.force) return;
  const existing = ['metadata.json', 'model.json'].find((file) => existsSync(path.join(o.out, file)));
  if (existing) {
    throw new CliError(
      `${o.out} already holds a trained model (${existing}); choose another --out (e.g. runs/my-model), ` +
        'or add --force to replace it',
    );
  }
}

async function train(o: TrainCommandOptions): Promise<void> {
  refuseToOverwrite(o);
  let result: TrainResult;
  try {
    result = await trainModel({
      dataDir: o.data,
      outDir: o.out,
      valDir: o.valDir,
      config: requestedConfig(o),
      resume: o.resume,
      backend: o.backend,
      threads: o.threads,
      cacheDir: o.cache ? o.cacheDir : null,
      keepCheckpoints: o.keepCheckpoints,
      command: reproducibleCommand(),
      reporter: reporter(o),
    });
  } catch (err) {
    if (err instanceof TrainConfigError) {
      throw new CliError(`${FLAGS[err.field] ?? err.field} must be ${err.requirement}, got ${err.value}`);
    }
    throw new CliError((err as Error).message);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(summary(result), null, 2)}\n`);
  else if (!o.quiet) printSummary(result);
}

function helpAfter(): string {
  const archs = Object.entries(ARCHITECTURES)
    .map(([name, a]) => `  ${name.padEnd(14)} ${a.description} (default size ${a.defaultImageSize})`)
    .join('\n');
  return `
Architectures:
${archs}

What it does: trains on DIR/train (or DIR itself when it has no split folders), validating on a patient-level
split carved from it (DIR/val is used only with >= 100 images per class; --val-dir overrides both). Classes are
balanced by loss weights; images are augmented; the learning rate warms up then follows a cosine decay; the
weights of the epoch with the best validation loss (or ROC-AUC, --monitor auc) are kept (early stop after
--patience epochs without improvement). Then a temperature is fitted and the threshold chosen on validation. Test data is never read.

Writes into MODEL_DIR: model.json + weights.bin, metadata.json, MODEL_CARD.md, history.json, report.html,
training-curves.png and split.json. A checkpoint is saved after every epoch in MODEL_DIR/checkpoints/; after a
crash or Ctrl-C, run the same command with --resume to continue exactly where it stopped.

An existing model directory is never overwritten unless --force is given.

Example:
  cxr train --data data/chest_xray --out runs/my-model`;
}

export function registerTrainCommand(program: Command): void {
  const d = DEFAULT_TRAIN_CONFIG;
  const b = TRAIN_CONFIG_BOUNDS;
  program
    .command('train')
    .description('Train a pneumonia model and write a model directory (model, metadata, card, report)')
    .requiredOption('-d, --data <dir>', 'dataset root (Kaggle layout: train/NORMAL, train/PNEUMONIA, ...)')
    .requiredOption('-o, --out <dir>', 'model directory to write (MODEL_DIR)')
    .option(
      '--val-dir <dir>',
      'validation images (NORMAL/ and PNEUMONIA/ folders) instead of a split of train',
    )
    .addOption(
      new Option('--arch <name>', `architecture (default ${d.architecture})`).choices(
        Object.keys(ARCHITECTURES),
      ),
    )
    .option('--image-size <px>', "square input size (default: the architecture's)", boundedArg(b.imageSize))
    .option('--epochs <n>', `maximum epochs (default ${d.epochs})`, boundedArg(b.epochs))
    .option('--batch-size <n>', `training batch size (default ${d.batchSize})`, boundedArg(b.batchSize))
    .option(
      '--lr <rate>',
      `peak learning rate of Adam (default ${d.learningRate})`,
      boundedArg(b.learningRate),
    )
    .option(
      '--val-fraction <f>',
      `share of training patients used for validation (default ${d.valFraction})`,
      boundedArg(b.valFraction),
    )
    .option(
      '--seed <n>',
      `seed for split, initial weights, shuffling, augmentation, dropout (default ${d.seed})`,
      boundedArg(b.seed),
    )
    .addOption(
      new Option(
        '--val-split <design>',
        `how validation patients are chosen: random, or the most tightly framed / least typical films (default ${d.valSplit})`,
      ).choices(SPLIT_DESIGNS),
    )
    .option(
      '--members <k>',
      `train an ensemble of k networks (seeds seed..seed+k-1, one shared split) saved as one model (default ${d.members})`,
      boundedArg(b.members),
    )
    .option('--split-seed <n>', 'seed of the patient split only (default: --seed)', boundedArg(b.splitSeed))
    .option(
      '--patience <n>',
      `epochs without improvement of the monitored metric before stopping; 0 = never (default ${d.patience})`,
      boundedArg(b.patience),
    )
    .addOption(
      new Option(
        '--monitor <metric>',
        `validation metric that picks the kept epoch (default ${d.monitor})`,
      ).choices(MONITORS),
    )
    .addOption(
      new Option(
        '--threshold-rule <rule>',
        `how to choose the threshold on validation (default ${d.thresholdRule}: max specificity with sensitivity >= 0.95)`,
      ).choices(Object.keys(THRESHOLD_RULES)),
    )
    .addOption(
      new Option('--augment <strength>', `augmentation strength (default ${d.augmentation})`).choices([
        'none',
        ...Object.keys(AUGMENTATION_PRESETS),
      ]),
    )
    .option('--no-augment', 'train without augmentation (same as --augment none)')
    .option('--resume', 'continue the interrupted run in MODEL_DIR/checkpoints (its settings are kept)')
    .option('--force', 'replace the model already in MODEL_DIR (refused without it)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('wasm'))
    .option(
      '--threads <n>',
      'wasm threads, one data-parallel replica each (default $CXR_WASM_THREADS, else 2)',
      integerArg(1),
    )
    .option('--cache-dir <dir>', 'decoded-pixel cache (default .cache/pixels or $CXR_CACHE_DIR)')
    .option('--no-cache', 'decode every image, and do not store the result')
    .option('--keep-checkpoints', 'keep MODEL_DIR/checkpoints after the run finishes')
    .option('--json', 'print a JSON summary on stdout (epoch lines go to stderr)')
    .option('-q, --quiet', 'no progress bars or epoch lines')
    .addHelpText('after', helpAfter())
    .action(async (options: TrainCommandOptions) => train(options));
}
