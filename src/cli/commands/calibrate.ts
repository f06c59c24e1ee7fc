/** `cxr calibrate`: adapt a model's probabilities and threshold (and optionally batch-norm statistics) to a site. */
import { type Command, Option } from 'commander';
import { CalibrationError, type CalibrationResult, calibrateModel } from '../../calibrate/calibrate.ts';
import {
  DEFAULT_SITE_METHOD,
  DEFAULT_SITE_RULE,
  SITE_CALIBRATION_METHODS,
  type SiteCalibrationMethod,
} from '../../calibrate/fit.ts';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import type { SplitName } from '../../core/types.ts';
import { formatInterval } from '../../metrics/intervals.ts';
import type { EvaluationMetrics } from '../../metrics/summary.ts';
import { thresholdRuleByName } from '../../metrics/threshold.ts';
import { describeCalibration } from '../../model/metadata.ts';
import { integerArg, recordedCommand } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { addScoringOptions, type ScoringCommandOptions, scoringSettings } from '../scoring-options.ts';

interface CalibrateCommandOptions extends ScoringCommandOptions {
  model?: string;
  data: string;
  out: string;
  split?: SplitName;
  thresholdRule: string;
  method: SiteCalibrationMethod;
  adaptBn?: boolean;
  adaptBnOnly?: boolean;
  folds: number;
}

function row(
  name: string,
  before: number | undefined,
  after: number | undefined,
  ci?: [number, number],
): string {
  const f = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '  n/a');
  const interval = ci ? ` (${formatInterval(ci, { missing: 'n/a' })})` : '';
  return `  ${name.padEnd(12)} ${f(before).padEnd(8)} ${f(after)}${interval}`;
}

/** Before → after on the site's images, the cross-validated estimate, and where the model went. */
export function formatCalibrationSummary(result: CalibrationResult): string {
  const { record, metadata } = result;
  const lines = [
    `${result.outDir}: recalibrated from ${record.from.name} on ${record.n} ${record.labelled ? 'labelled' : 'unlabelled'} images${record.adaptBn ? ', batch-norm statistics re-estimated (AdaBN)' : ''}`,
    `  calibration  ${describeCalibration(record.from.calibration)} → ${describeCalibration(metadata.calibration)}`,
    `  threshold    ${record.from.threshold.toFixed(4)} → ${metadata.threshold.toFixed(4)} (${metadata.thresholdRule})`,
  ];
  const b: Partial<EvaluationMetrics> = result.before ?? {};
  const a = result.after;
  if (a) {
    lines.push(
      `  on these images: ${''.padEnd(0)}before   after (95% CI; fitted on these images, so optimistic)`,
      row('sensitivity', b.sensitivity, a.sensitivity, a.ci95.sensitivity),
      row('specificity', b.specificity, a.specificity, a.ci95.specificity),
      row('ROC-AUC', b.rocAuc, a.rocAuc, a.ci95.rocAuc),
      row('ECE', b.ece, a.ece),
    );
  }
  const cv = record.crossValidated;
  if (cv) {
    lines.push(
      `  expected on new images of this site (${cv.folds}-fold cross-validation by patient):`,
      `    sensitivity ${cv.sensitivity.toFixed(3)} (${formatInterval(cv.ci95.sensitivity)}), specificity ${cv.specificity.toFixed(3)} (${formatInterval(cv.ci95.specificity)}), ECE ${cv.ece.toFixed(3)}`,
    );
  }
  if (!record.labelled)
    lines.push('  calibration and threshold kept: check them on labelled local images (cxr evaluate).');
  lines.push(
    'Not a medical device: check the recalibrated model on other local images before use (cxr evaluate).',
  );
  return lines.join('\n');
}

async function calibrate(o: CalibrateCommandOptions): Promise<void> {
  if (o.adaptBnOnly && o.adaptBn)
    throw new CliError('--adapt-bn-only already adapts batch-norm statistics; drop --adapt-bn');
  let rule: ReturnType<typeof thresholdRuleByName>;
  try {
    rule = thresholdRuleByName(o.thresholdRule);
  } catch (err) {
    throw new CliError(`--threshold-rule: ${(err as Error).message}`);
  }
  let result: CalibrationResult;
  try {
    result = await calibrateModel({
      modelDir: o.model ?? DEFAULT_MODEL_DIR,
      dataDir: o.data,
      outDir: o.out,
      split: o.split,
      method: o.method,
      rule,
      adaptBn: o.adaptBn,
      adaptBnOnly: o.adaptBnOnly,
      folds: o.folds,
      command: recordedCommand(),
      ...scoringSettings(o),
    });
  } catch (err) {
    if (err instanceof CalibrationError) throw new CliError(err.message);
    throw err;
  }
  for (const w of result.warnings) process.stderr.write(`cxr calibrate: warning: ${w}\n`);
  if (o.json) {
    const { outDir, record, before, after, metadata } = result;
    process.stdout.write(
      `${JSON.stringify({ outDir, calibration: metadata.calibration, threshold: metadata.threshold, thresholdRule: metadata.thresholdRule, recalibration: record, before, after })}\n`,
    );
    return;
  }
  process.stdout.write(`${formatCalibrationSummary(result)}\n`);
}

const HELP_AFTER = `
Adapts a model to one site's images and saves it as a NEW model directory (the original is not touched):
refits the calibration (--method temperature: one scale; platt: scale and offset, which also absorbs a
different share of pneumonia) and the operating threshold (--threshold-rule) on labelled local images, and
records in metadata.json and MODEL_CARD.md what was recalibrated, on how many images, from which model, and
the metrics before and after. It also estimates by k-fold cross-validation (by patient) what to expect on the
site's next images. Needs at least 20 usable images of each class (readable, and accepted by the input gate);
a few hundred are better.

--adapt-bn re-estimates batch-norm statistics on the images first (AdaBN). --adapt-bn-only needs no labels
(any folder of images): it only re-estimates the statistics and keeps the calibration and threshold.

Threshold rules: sens95 (highest specificity with sensitivity >= 0.95), sens=X (the same with X, e.g.
sens=0.97), youden (max sensitivity + specificity - 1). Defaults: --method ${DEFAULT_SITE_METHOD},
--threshold-rule ${DEFAULT_SITE_RULE}, chosen by simulation (docs/calibration.md).

Examples:
  cxr calibrate --data site-images/ --out runs/site-a
  cxr calibrate --model models/default --data site-images/ --out runs/site-a --threshold-rule sens=0.97
  cxr calibrate --data unlabelled-site-images/ --out runs/site-a-bn --adapt-bn-only
  cxr evaluate --model runs/site-a --data other-site-images/ --attach`;

export function registerCalibrateCommand(program: Command): void {
  const command = program
    .command('calibrate')
    .description(
      "Fit a model's probabilities and threshold to a site's own labelled images (a new model directory)",
    )
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .requiredOption('-d, --data <dir>', 'labelled images (NORMAL/ and PNEUMONIA/ folders, or a dataset root)')
    .requiredOption('-o, --out <dir>', 'new model directory to write (must not exist, or be empty)')
    .addOption(
      new Option(
        '--split <name>',
        'split folder of a dataset root (default: test, else the only one)',
      ).choices(['test', 'val', 'train', 'all']),
    )
    .option('--threshold-rule <rule>', 'sens95 | youden | sens=X', DEFAULT_SITE_RULE)
    .addOption(
      new Option('--method <name>', 'calibration to refit')
        .choices(SITE_CALIBRATION_METHODS)
        .default(DEFAULT_SITE_METHOD),
    )
    .option('--adapt-bn', 're-estimate batch-norm statistics on the images first (AdaBN)')
    .option('--adapt-bn-only', 'only re-estimate batch-norm statistics; images need no labels')
    .option('--folds <k>', 'folds of the cross-validated estimate', integerArg(2), 5);
  addScoringOptions(command, 'print a JSON summary on stdout and nothing else')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: CalibrateCommandOptions) => calibrate(options));
}
