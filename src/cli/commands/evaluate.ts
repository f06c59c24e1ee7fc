/** `cxr evaluate`: measure a saved model on a labelled dataset split; writes metrics.json and report.html. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { DEFAULT_MODEL_DIR } from '../../core/paths.ts';
import type { SplitName } from '../../core/types.ts';
import { attachEvaluation, checkAttachable } from '../../evaluate/attach.ts';
import { type EvaluationResult, evaluateModel } from '../../evaluate/evaluate.ts';
import { buildEvaluationReport } from '../../evaluate/report.ts';
import { formatInterval } from '../../metrics/intervals.ts';
import type { ThresholdMetrics } from '../../metrics/summary.ts';
import { formatTta } from '../../model/tta.ts';
import { recordedCommand } from '../arguments.ts';
import { CliError } from '../errors.ts';
import { addScoringOptions, type ScoringCommandOptions, scoringSettings } from '../scoring-options.ts';

const SPLITS: SplitName[] = ['test', 'val', 'train', 'all'];

interface EvaluateCommandOptions extends ScoringCommandOptions {
  /** Unset = the shipped model (DEFAULT_MODEL_DIR, found relative to the package, not the working directory). */
  model?: string;
  data: string;
  split?: SplitName;
  out?: string;
  attach?: boolean;
  name?: string;
  /** commander sets this to false for --no-gate. */
  gate: boolean;
  tta?: boolean;
}

function defaultOutDir(result: EvaluationResult): string {
  return path.join('reports', `evaluate-${result.metadata.name}-${result.split}`);
}

function row(name: string, a: number, b: number, ci?: [number, number]): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '  n/a');
  const interval = ci ? ` (${formatInterval(ci, { missing: 'n/a' })})` : '';
  return `  ${name.padEnd(12)} ${(f(a) + interval).padEnd(22)} ${f(b)}`;
}

/** The human-readable summary: metrics at the stored threshold (with 95% CIs) and at 0.5. */
export function formatSummary(result: EvaluationResult, modelDir: string): string {
  const m = result.metrics;
  const h: ThresholdMetrics = m.atHalf;
  const c = m.confusion;
  return [
    `${modelDir} on ${m.n} images (${result.split} split), threshold ${m.threshold.toFixed(4)} (${result.metadata.thresholdRule})`,
    `  ${''.padEnd(12)} ${'at threshold (95% CI)'.padEnd(22)} at 0.5`,
    row('accuracy', m.accuracy, h.accuracy, m.ci95.accuracy),
    row('sensitivity', m.sensitivity, h.sensitivity, m.ci95.sensitivity),
    row('specificity', m.specificity, h.specificity, m.ci95.specificity),
    row('precision', m.precision, h.precision, m.ci95.precision),
    row('NPV', m.npv, h.npv, m.ci95.npv),
    row('F1', m.f1, h.f1),
    row('ROC-AUC', m.rocAuc, h.rocAuc, m.ci95.rocAuc),
    row('PR-AUC', m.prAuc, h.prAuc),
    row('log-loss', m.logLoss, h.logLoss),
    row('Brier', m.brier, h.brier),
    row('ECE', m.ece, h.ece),
    `  confusion at threshold: TP ${c.tp}  FN ${c.fn}  TN ${c.tn}  FP ${c.fp}`,
    'Not a medical device: these numbers describe a triage aid, not a diagnostic test.',
  ].join('\n');
}

/**
 * metrics.json: the metrics over the scored images, plus what the input gate did (how many images it checked,
 * scored and rejected, and each rejected image with the reason), so nothing is dropped silently.
 */
export function metricsJson(result: EvaluationResult): object {
  return { ...result.metrics, gate: result.gate, ...(result.tta ? { tta: result.tta } : {}) };
}

async function writeOutputs(result: EvaluationResult, o: EvaluateCommandOptions): Promise<string> {
  const outDir = o.out ?? defaultOutDir(result);
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'metrics.json'), `${JSON.stringify(metricsJson(result), null, 2)}\n`);
  await writeFile(path.join(outDir, 'report.html'), await buildEvaluationReport(result, o.data));
  return outDir;
}

async function evaluate(o: EvaluateCommandOptions): Promise<void> {
  const modelDir = o.model ?? DEFAULT_MODEL_DIR;
  if (!existsSync(modelDir)) {
    throw new CliError(
      `model directory ${modelDir} does not exist; train one with \`cxr train\` or pass --model DIR`,
    );
  }
  if (o.name !== undefined && !o.attach)
    throw new CliError('--name names an attached evaluation: add --attach');
  if (o.attach) {
    try {
      await checkAttachable(modelDir);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  let result: EvaluationResult;
  try {
    result = await evaluateModel({
      modelDir,
      dataDir: o.data,
      split: o.split,
      ...scoringSettings(o),
      gate: o.gate,
      tta: o.tta,
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  for (const w of result.warnings) process.stderr.write(`cxr evaluate: warning: ${w}\n`);
  let outDir: string | null = null;
  try {
    outDir = await writeOutputs(result, o);
  } catch (err) {
    // The measurement itself succeeded; a read-only folder must not swallow it.
    process.stderr.write(`cxr evaluate: warning: could not write the report: ${(err as Error).message}\n`);
  }
  let attached: string | null = null;
  if (o.attach) {
    try {
      const record = await attachEvaluation({
        modelDir,
        dataDir: o.data,
        result,
        command: recordedCommand(),
        name: o.name,
      });
      attached = `attached to ${path.join(modelDir, 'metadata.json')} as external evaluation "${record.name}" (MODEL_CARD.md and the app's model page show it)`;
    } catch (err) {
      throw new CliError(`could not attach the evaluation to ${modelDir}: ${(err as Error).message}`);
    }
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify(metricsJson(result))}\n`);
    if (attached) process.stderr.write(`cxr evaluate: ${attached}\n`);
    return;
  }
  process.stdout.write(`${formatSummary(result, o.model ?? 'models/default')}\n`);
  const g = result.gate;
  process.stdout.write(
    `input gate: ${g.checked} images checked, ${g.scored} scored, ${g.rejected.length} rejected` +
      `${g.learnedCheck ? '' : ' (cheap checks only)'}; metrics are over the scored images\n`,
  );
  if (result.tta) process.stdout.write(`test-time augmentation: ${formatTta(result.tta)}\n`);
  if (outDir) process.stdout.write(`wrote ${path.join(outDir, 'metrics.json')} and report.html\n`);
  if (attached) process.stdout.write(`${attached}\n`);
}

const HELP_AFTER = `
Scores every image of the chosen split with the model's own preprocessing, calibration and threshold, and
measures it (positive class PNEUMONIA; 95% intervals: Wilson score intervals for rates, a 1,000-sample
stratified bootstrap for ROC-AUC, or a score interval where the bootstrap collapses). Unreadable files are
skipped with a warning and not counted.

metrics.json (and --json output):
  {"n", "threshold", "accuracy", "sensitivity", "specificity", "precision", "npv", "f1", "rocAuc", "prAuc",
   "logLoss", "brier", "ece", "confusion": {"tp","fp","tn","fn"},
   "ci95": {"accuracy": [lo,hi], "sensitivity", "specificity", "precision", "npv", "rocAuc": [...]},
   "ciMethod": {"proportions": "wilson", "rocAuc": "stratified-bootstrap" | "hanley-mcneil-score"},
   "atHalf": { the same block at threshold 0.5 },
   "gate": {"checked", "scored", "rejected": [...], "learnedCheck"},
   "tta": {"views": [{"name", "zoom"}, ...], "combine": "mean-logit"}   (only with --tta)}
  An undefined metric (e.g. specificity on a folder without NORMAL images) is null.

--tta (test-time augmentation) scores each image three times, as it is, zoomed in ×1.1 and zoomed out ×1/1.1
(the training augmentation's own warp), and averages the three logits before calibration and the threshold:
about 3× the scoring time. The input gate and the report's Grad-CAM thumbnails read the image as it is. The
stored threshold and calibration were fitted without TTA (docs/evaluation.md has what it measured).

--attach adds the result to the model's metadata.json as an external evaluation (data fingerprint, n,
metrics with intervals, the command, the date) and re-renders MODEL_CARD.md; the app's model page shows it.
The model folder must be writable (checked before scoring); metadata.json is replaced atomically.

Examples:
  cxr evaluate --data data/chest_xray                          test split, models/default
  cxr evaluate --model runs/my-model --data data/chest_xray/test --json
  cxr evaluate --model models/site-a --data site-a-holdout/ --attach --name "Site A, 2027 hold-out"`;

export function registerEvaluateCommand(program: Command): void {
  const command = program
    .command('evaluate')
    .description('Measure a model on a labelled dataset split (metrics.json + report.html)')
    .option('-m, --model <dir>', 'model directory (default: the shipped models/default)')
    .requiredOption(
      '-d, --data <dir>',
      'dataset root (Kaggle layout) or one split folder with NORMAL/ and PNEUMONIA/',
    )
    .addOption(
      new Option(
        '--split <name>',
        'split folder to evaluate (default: test if present, else the only one)',
      ).choices(SPLITS),
    )
    .option(
      '-o, --out <dir>',
      'folder for metrics.json and report.html (default reports/evaluate-<model>-<split>)',
    )
    .option('--attach', "record the result in the model's metadata.json and card as an external evaluation")
    .option('--name <text>', 'name of the attached evaluation (default: the data folder and split)');
  addScoringOptions(command, 'print exactly the metrics JSON on stdout and nothing else')
    .option('--no-gate', "turn the input gate's learned check off (cheap checks still run)")
    .option(
      '--tta',
      'test-time augmentation: mean logit of the image and a mild zoom in and out (~3× slower)',
    )
    .addHelpText('after', HELP_AFTER)
    .action(async (options: EvaluateCommandOptions) => evaluate(options));
}
