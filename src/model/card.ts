/**
 * MODEL_CARD.md, generated from metadata.json so the card can never disagree with the model it describes.
 * Sections follow the usual model-card outline: details, intended use, data and its limits, metrics, training,
 * reproduction, caveats.
 */
import { ARCHITECTURES } from './architectures.ts';
import { performanceSection } from './card-performance.ts';
import { describeCalibration, type ModelMetadata, type TrainingSummary } from './metadata.ts';

function num(x: number | null | undefined, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

function duration(seconds: number | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return 'unknown';
  // Round once, then split, so 2639.98 s reads "44 min 0 s" and never "43 min 60 s".
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  return m > 0 ? `${m} min ${total % 60} s` : `${total} s`;
}

/** An ensemble's members each have their own seed; a single model has one. */
function seedText(md: ModelMetadata): string {
  const members = md.ensemble?.members;
  if (!members || members.length < 2) return String(md.seed);
  return `${members.map((m) => m.seed).join(', ')} (one per ensemble member; one shared patient split from seed ${md.seed})`;
}

function detailsSection(md: ModelMetadata): string {
  const arch = ARCHITECTURES[md.architecture];
  return `## Model details

- **Name / version:** ${md.name} ${md.version}, created ${md.createdAt}
- **Architecture:** \`${md.architecture}\`${arch ? ` — ${arch.description}` : ''}
- **Input:** ${md.preprocessing.imageSize}×${md.preprocessing.imageSize} grey-scale, image stretched to a square (aspect ratio not kept), grey values 0–255 (scaled inside the model)
- **Output:** calibrated probability of ${md.positiveClass} (${describeCalibration(md.calibration)}${md.recalibration ? `, refitted on ${md.recalibration.n} local images` : ''})
- **Operating threshold:** ${num(md.threshold, 4)} (${md.thresholdRule}, chosen on ${md.recalibration?.thresholdRule ? 'the local site-calibration images' : 'validation data'}); at or above it an image is flagged for early reading
- **Seed:** ${seedText(md)}
- **Software:** ${Object.entries(md.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`;
}

const INTENDED_USE = `## Intended use

- **Use:** a triage aid that orders a worklist of paediatric frontal (AP) chest X-rays so that images likely to
  show pneumonia are read first by a qualified reader.
- **Not a diagnosis, not a medical device.** The output is a probability and a flag, never a finding; every image
  must still be read by a clinician, and no treatment decision may rest on it.
- **Out of scope:** adults; lateral or PA views taken differently from the training data; other centres, scanners
  or populations without a local validation first; telling bacterial from viral pneumonia; any other disease.`;

function dataSection(md: ModelMetadata): string {
  const d = md.data;
  const val = d.validation;
  return `## Training data and its limits

- **Source:** "Chest X-Ray Images (Pneumonia)" — Kermany, Zhang, Goldbaum (2018), Mendeley Data v2,
  doi:10.17632/rscbjbr9sj.2 (CC BY 4.0); Kermany et al., Cell 172(5):1122–1131, 2018.
- **Training images:** ${d.count} (${d.classCounts.NORMAL} NORMAL, ${d.classCounts.PNEUMONIA} PNEUMONIA); file-list
  sha256 \`${d.sha256}\`.
- **Validation images:** ${val ? `${val.count} (${val.classCounts.NORMAL} NORMAL, ${val.classCounts.PNEUMONIA} PNEUMONIA), sha256 \`${val.sha256}\`` : 'not recorded'}.
- **Who is in it:** children aged 1–5 years, all from one centre (Guangzhou Women and Children's Medical Center),
  anterior-posterior views only. Nothing is known about performance on other ages, centres, equipment or views.
- **Limits:** labels are image-level grades, not confirmed diagnoses; the copies used were resized to 224×224
  without keeping the aspect ratio; the set holds byte-identical duplicates (removed from validation when they
  also appear in training); the official test split was collected apart from the training split and is known to
  be harder than any split carved from training data.`;
}

/**
 * The epochs line. An ensemble's training summary counts the epochs of all members together, so its members
 * are listed one by one instead (epochs run and the epoch whose weights were kept, each).
 */
function epochsText(t: Partial<TrainingSummary>, ensemble: ModelMetadata['ensemble']): string {
  const monitor = `best validation ${t.monitor === 'auc' ? 'ROC-AUC' : 'loss'}`;
  const stop = t.stopReason ? `; ${t.stopReason}` : '';
  const members = ensemble?.members;
  if (members && members.length > 1) {
    const each = members.map((m) => `epoch ${m.bestEpoch} of ${m.epochsRun}`).join(', ');
    return `an ensemble of ${members.length} networks trained one after another, up to ${t.epochsPlanned ?? '?'} epochs each; kept (${monitor}): ${each}${stop}`;
  }
  return `${t.epochsRun ?? '?'} of ${t.epochsPlanned ?? '?'} planned; weights of epoch ${t.bestEpoch ?? '?'} kept (${monitor})${stop}`;
}

/** How the validation patients were chosen: `--val-split` names the design (random, framing, appearance). */
const DESIGN_TEXT: Record<string, string> = {
  random: 'chosen at random',
  framing: 'the most tightly framed films',
  appearance: 'the least typical films by appearance',
};

function validationText(v: TrainingSummary['validation'] | undefined): string {
  if (!v) return 'unknown';
  const share = v.valFraction ? `, ${Math.round(v.valFraction * 100)}% of training patients` : '';
  const design = v.design ? `, ${DESIGN_TEXT[v.design] ?? v.design}` : '';
  return `${v.images} images (${v.source}${share}${design})`;
}

function trainingSection(t: Partial<TrainingSummary>, ensemble?: ModelMetadata['ensemble']): string {
  const threads = t.machine?.threads ? `, ${t.machine.threads} thread(s)` : '';
  const machine = t.machine
    ? `${t.machine.cpus} × ${t.machine.cpuModel}, TF.js ${t.machine.backend} backend${threads}`
    : 'unknown';
  return `## Training

- **Epochs:** ${epochsText(t, ensemble)}
- **Optimisation:** batch ${t.batchSize ?? '?'}, learning rate ${t.learningRate ?? '?'}, ${t.schedule ?? ''}
- **Class balance:** loss weights NORMAL ${num(t.classWeights?.[0])}, PNEUMONIA ${num(t.classWeights?.[1])}
- **Augmentation:** ${t.augmentation ?? 'unknown'}
- **Validation set:** ${validationText(t.validation)}
- **Training time:** ${duration(t.seconds)} (${duration(t.secondsPerEpoch)} per epoch, ${Math.round(t.imagesPerSecond ?? 0)} images/s) on ${machine}`;
}

function reproduceSection(t: Partial<TrainingSummary>): string {
  return `## How to reproduce

\`\`\`sh
${t.command ?? 'npm run -s cxr -- train --data ../shared/datasets/chest_xray --out models/default'}
\`\`\`

The same data, seed and settings give the same split, the same initial weights and the same sequence of batches,
augmentations and dropout masks; a killed run continues with \`--resume\`, and \`--force\` replaces a model
already in the output directory. Floating-point results can still differ
slightly across CPUs and TF.js versions. Evaluate with
\`npm run -s cxr -- evaluate --model <dir> --data <dataset> --json\`.`;
}

const CAVEATS = `## Caveats and recommendations

- Probabilities are calibrated on validation data from the training centre; they drift on other populations.
  Re-check calibration and the threshold locally before use (\`cxr evaluate --attach\`, then \`cxr calibrate\`).
- The threshold favours sensitivity (missing pneumonia costs more than reading a normal image early); expect more
  false alarms than misses.
- Performance has not been measured per sex, age group, pneumonia subtype or image quality.`;

/** What the input gate refuses, and how its learned check was fitted (from `metadata.gate`). */
function gateSection(md: ModelMetadata): string {
  const head = `## Input gate

Every input passes cheap checks first (too small, extreme aspect ratio, almost uniform, colour picture, DICOM
Modality / Body Part / View Position that is not a frontal chest radiograph); refused inputs are listed as
\`rejected\` with the reason and never labelled. See docs/input-gate.md.`;
  const learned = md.gate?.learned;
  if (!learned) {
    return `${head}\n\nThis model has **no learned check** (no \`gate\` in metadata.json): only the cheap checks run. Fit one
with \`npm run -s cxr -- gate --model <dir> --data <dataset>\`.`;
  }
  const d = learned.distances;
  return `${head}

Learned check: Mahalanobis distance (Ledoit-Wolf shrinkage ${num(learned.shrinkage, 4)}) of the classifier's
${learned.featureSize} penultimate features plus ${learned.appearanceSize} appearance features from the training
images' mean, fitted on ${learned.fittedOn.train} training images. Threshold ${num(learned.threshold, 2)}
(${learned.thresholdRule}). Distances: training median ${num(d.train.p50, 2)}, 99.9th percentile ${num(d.train.p999, 2)};
validation median ${num(d.validation.p50, 2)}, 99.9th percentile ${num(d.validation.p999, 2)}, max ${num(d.validation.max, 2)}.
It rejects ${num(learned.validationRejectRate * 100, 2)}% of the ${learned.fittedOn.validation} validation X-rays.
A gate fitted on one hospital's films may refuse more images from elsewhere: check the rejection rate locally.`;
}

/** Renders MODEL_CARD.md for a trained model. */
export function renderModelCard(metadata: ModelMetadata): string {
  const training = (metadata.training ?? {}) as Partial<TrainingSummary>;
  return `${[
    `# Model card: ${metadata.name}`,
    '> **Not a medical device.** Pneumoscope ranks chest X-rays for reading order; it does not diagnose.',
    detailsSection(metadata),
    INTENDED_USE,
    dataSection(metadata),
    performanceSection(metadata),
    gateSection(metadata),
    trainingSection(training, metadata.ensemble),
    reproduceSection(training),
    CAVEATS,
  ].join('\n\n')}\n`;
}
