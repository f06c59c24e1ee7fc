/**
 * Simulation that chose `cxr calibrate`'s default method and threshold rule (docs/calibration.md).
 *
 * The bar (issue 9): a site's labelled images cut in two halves by patient; calibrate on half A, evaluate on
 * half B → sensitivity ≥ 0.93, specificity ≥ 0.85, ECE ≤ 0.05, and the same with the halves swapped. We cannot
 * see the official test split, so a trained model's own validation split stands in for the "site", as it is and
 * re-rendered by the validation shift suite (src/data/shift.ts), and is halved at random many times. For every
 * method × rule we count how often BOTH directions of a halving meet all three bars.
 *
 * Usage (CPU-heavy only with --adapt-bn; run under the CPU lock):
 *   npx tsx scripts/site-calibration-sim.ts --model /work/runs/m64mild --data ../shared/datasets/chest_xray \
 *     [--halvings 300] [--adapt-bn-halvings 0] [--seed 1] [--json out.json]
 * The model directory must hold split.json (written by `cxr train`), which names its validation images.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitSite, measureHeldOut, type SiteCalibrationMethod } from '../src/calibrate/fit.ts';
import { deriveSeed, seededRandom, shuffled } from '../src/core/random.ts';
import type { ImageRecord } from '../src/core/types.ts';
import { discoverDataset } from '../src/data/discover.ts';
import { loadPixels } from '../src/data/pixels.ts';
import { applyShift, SHIFT_SUITE, type ValidationShift } from '../src/data/shift.ts';
import { initEngine } from '../src/engine/backend.ts';
import { rocAuc } from '../src/metrics/roc.ts';
import { thresholdRuleByName } from '../src/metrics/threshold.ts';
import { recomputeBatchNormStatistics } from '../src/model/batchnorm-stats.ts';
import { calibrateAll, predictRawProbabilities } from '../src/model/infer.ts';
import { loadModel, type SavedModel } from '../src/model/io.ts';

const BAR = { sensitivity: 0.93, specificity: 0.85, ece: 0.05 };
const METHODS: SiteCalibrationMethod[] = ['temperature', 'platt'];
const RULES = ['sens95', 'sens=0.96', 'sens=0.97', 'sens=0.98', 'youden'];

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string', default: '../shared/datasets/chest_xray' },
    halvings: { type: 'string', default: '300' },
    'adapt-bn-halvings': { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
    'cache-dir': { type: 'string' },
  },
});
if (!args.model) throw new Error('--model DIR is required');

interface Site {
  name: string;
  pixels: Uint8Array;
}

/** The validation images, as they are and under shifts (one shift for all, or a random shift per image). */
function sites(pixels: Uint8Array, imageSize: number, seed: number): Site[] {
  const area = imageSize * imageSize;
  const n = pixels.length / area;
  const byName = (name: string) => SHIFT_SUITE.find((s) => s.name === name) as ValidationShift;
  const compound: ValidationShift = {
    name: 'zoom-in-25+gamma-1.4+noise',
    description: 'tight framing, darker mid-tones and noise together',
    params: { ...byName('zoom-in-25').params, ...byName('gamma-1.4').params, ...byName('noise').params },
  };
  const rough: ValidationShift = {
    name: 'zoom-in-25+low-contrast+blur+noise',
    description: 'tight framing on a soft, flat, noisy system',
    params: {
      ...byName('zoom-in-25').params,
      ...byName('low-contrast').params,
      ...byName('blur').params,
      ...byName('noise').params,
    },
  };
  const mixed = new Uint8Array(pixels.length);
  const random = seededRandom(deriveSeed(seed, 'mixed-site'));
  for (let i = 0; i < n; i++) {
    const shift = SHIFT_SUITE[Math.floor(random() * SHIFT_SUITE.length)];
    const one = pixels.subarray(i * area, (i + 1) * area);
    mixed.set(applyShift(one, imageSize, shift, deriveSeed(seed, 'mixed', i)), i * area);
  }
  return [
    { name: 'as is', pixels },
    { name: 'zoom-in-25', pixels: applyShift(pixels, imageSize, byName('zoom-in-25'), seed) },
    { name: compound.name, pixels: applyShift(pixels, imageSize, compound, seed) },
    { name: rough.name, pixels: applyShift(pixels, imageSize, rough, seed) },
    { name: 'mixed (a random shift per image)', pixels: mixed },
  ];
}

/** Patients stratified by class, shuffled and dealt into halves A and B; returns image indices. */
function halve(records: ImageRecord[], random: () => number): [number[], number[]] {
  const halves: [number[], number[]] = [[], []];
  for (const label of ['NORMAL', 'PNEUMONIA']) {
    const patients = [...new Set(records.filter((r) => r.label === label).map((r) => r.patientId))];
    const order = shuffled(patients, random);
    const inA = new Set(order.slice(0, Math.round(order.length / 2)));
    records.forEach((r, i) => {
      if (r.label === label) halves[inA.has(r.patientId) ? 0 : 1].push(i);
    });
  }
  return halves;
}

const pick = (xs: ArrayLike<number>, idx: number[]) => Float64Array.from(idx, (i) => xs[i]);

interface Tally {
  runs: number;
  passed: number;
  sens: number[];
  spec: number[];
  ece: number[];
  failedOn: { sensitivity: number; specificity: number; ece: number };
}

function tally(): Tally {
  return {
    runs: 0,
    passed: 0,
    sens: [],
    spec: [],
    ece: [],
    failedOn: { sensitivity: 0, specificity: 0, ece: 0 },
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** One direction: fit on `fitIdx`, measure on `testIdx`; returns which bars failed. */
function direction(
  labels: Uint8Array,
  raw: ArrayLike<number>,
  fitIdx: number[],
  testIdx: number[],
  method: SiteCalibrationMethod,
  rule: string,
  into: Tally,
): boolean {
  const fit = fitSite(pick(labels, fitIdx), pick(raw, fitIdx), { method, rule: thresholdRuleByName(rule) });
  const held = measureHeldOut(pick(labels, testIdx), pick(raw, testIdx), fit);
  into.sens.push(held.sensitivity);
  into.spec.push(held.specificity);
  into.ece.push(held.ece);
  const fails = {
    sensitivity: held.sensitivity < BAR.sensitivity,
    specificity: held.specificity < BAR.specificity,
    ece: held.ece > BAR.ece,
  };
  for (const k of Object.keys(fails) as (keyof typeof fails)[]) if (fails[k]) into.failedOn[k]++;
  return !fails.sensitivity && !fails.specificity && !fails.ece;
}

function simulate(
  labels: Uint8Array,
  raw: ArrayLike<number>,
  records: ImageRecord[],
  halvings: number,
  seed: number,
) {
  const results = new Map<string, Tally>();
  for (const method of METHODS) for (const rule of RULES) results.set(`${method} ${rule}`, tally());
  const random = seededRandom(seed);
  for (let h = 0; h < halvings; h++) {
    const [a, b] = halve(records, random);
    for (const method of METHODS) {
      for (const rule of RULES) {
        const t = results.get(`${method} ${rule}`) as Tally;
        const ab = direction(labels, raw, a, b, method, rule, t);
        const ba = direction(labels, raw, b, a, method, rule, t);
        t.runs++;
        if (ab && ba) t.passed++;
      }
    }
  }
  return results;
}

/** AdaBN on half A before fitting on A; measured on B through the adapted model. Restores the weights after. */
async function simulateAdaBn(
  saved: SavedModel,
  site: Site,
  labels: Uint8Array,
  records: ImageRecord[],
  halvings: number,
  seed: number,
  method: SiteCalibrationMethod,
  rule: string,
) {
  const imageSize = saved.metadata.preprocessing.imageSize;
  const area = imageSize * imageSize;
  const original = saved.model.getWeights().map((w) => w.clone());
  const withBn = tally();
  const without = tally();
  const random = seededRandom(deriveSeed(seed, 'adabn'));
  const rawBefore = await predictRawProbabilities(saved.model, site.pixels, { imageSize });
  const aucs: { before: number; after: number }[] = [];
  for (let h = 0; h < halvings; h++) {
    const [a, b] = halve(records, random);
    let both = true;
    let bothWithout = true;
    for (const [fitIdx, testIdx] of [
      [a, b],
      [b, a],
    ]) {
      const fitPixels = new Uint8Array(fitIdx.length * area);
      fitIdx.forEach((i, k) => {
        fitPixels.set(site.pixels.subarray(i * area, (i + 1) * area), k * area);
      });
      recomputeBatchNormStatistics({
        model: saved.model,
        pixels: fitPixels,
        imageSize,
        batchSize: 32,
        seed: h,
        batches: Math.ceil(fitIdx.length / 32),
      });
      const raw = await predictRawProbabilities(saved.model, site.pixels, { imageSize });
      saved.model.setWeights(original);
      aucs.push({
        before: rocAuc(pick(labels, testIdx), pick(rawBefore, testIdx)),
        after: rocAuc(pick(labels, testIdx), pick(raw, testIdx)),
      });
      both = direction(labels, raw, fitIdx, testIdx, method, rule, withBn) && both;
      bothWithout = direction(labels, rawBefore, fitIdx, testIdx, method, rule, without) && bothWithout;
    }
    withBn.runs++;
    without.runs++;
    if (both) withBn.passed++;
    if (bothWithout) without.passed++;
  }
  for (const w of original) w.dispose();
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    withBn,
    without,
    aucBefore: mean(aucs.map((x) => x.before)),
    aucAfter: mean(aucs.map((x) => x.after)),
  };
}

function row(name: string, t: Tally): string {
  const pct = (x: number) => `${((100 * x) / t.runs).toFixed(0)}%`;
  const q = (xs: number[], p: number) => quantile(xs, p).toFixed(3);
  return (
    `| ${name} | ${pct(t.passed)} | ${q(t.sens, 0.1)} / ${q(t.sens, 0.5)} | ${q(t.spec, 0.1)} / ${q(t.spec, 0.5)} | ` +
    `${q(t.ece, 0.5)} / ${q(t.ece, 0.9)} | ${pct(t.failedOn.sensitivity / 2)} · ${pct(t.failedOn.specificity / 2)} · ${pct(t.failedOn.ece / 2)} |`
  );
}

async function main(): Promise<void> {
  const seed = Number(args.seed);
  const halvings = Number(args.halvings);
  const modelDir = args.model as string;
  await initEngine({ backend: 'wasm' });
  const saved = await loadModel(modelDir);
  const split = JSON.parse(await readFile(path.join(modelDir, 'split.json'), 'utf8')) as { val: string[] };
  const dataset = await discoverDataset(args.data as string);
  const wanted = new Set(split.val.map((p) => path.resolve(dataset.root, p)));
  const val = dataset.records.filter((r) => wanted.has(r.path));
  const imageSize = saved.metadata.preprocessing.imageSize;
  const loaded = await loadPixels(val, { imageSize, cacheDir: args['cache-dir'] });
  const records = loaded.records;
  const labels = Uint8Array.from(records, (r) => r.labelIndex);
  const normals = labels.length - labels.reduce((s, y) => s + y, 0);
  const out: Record<string, unknown> = {
    model: modelDir,
    images: labels.length,
    normals,
    halvings,
    seed,
    sites: {},
  };
  console.log(
    `# ${modelDir}: ${labels.length} validation images (${normals} NORMAL), ${halvings} halvings per site\n`,
  );
  console.log(
    'Per config: share of halvings where BOTH directions meet sens ≥ 0.93, spec ≥ 0.85, ECE ≤ 0.05;',
  );
  console.log('sens and spec: 10th percentile / median on the held-out half; ECE: median / 90th percentile;');
  console.log('last column: how often each bar failed, per direction (sensitivity · specificity · ECE).\n');
  for (const site of sites(loaded.pixels, imageSize, seed)) {
    const raw = await predictRawProbabilities(saved.model, site.pixels, { imageSize });
    const parent = calibrateAll(raw, saved.metadata.calibration);
    const auc = rocAuc(labels, raw);
    const atParent = measureHeldOut(labels, raw, {
      calibration: saved.metadata.calibration,
      threshold: { threshold: saved.metadata.threshold },
    });
    console.log(
      `## Site: ${site.name} (ROC-AUC ${auc.toFixed(4)}; parent model as shipped: sens ${atParent.sensitivity.toFixed(3)}, spec ${atParent.specificity.toFixed(3)}, ECE ${atParent.ece.toFixed(3)})\n`,
    );
    console.log(
      '| method, rule | passes | sens p10 / median | spec p10 / median | ECE median / p90 | fails (sens · spec · ECE) |',
    );
    console.log('|---|---|---|---|---|---|');
    const results = simulate(labels, raw, records, halvings, deriveSeed(seed, site.name));
    const siteOut: Record<string, unknown> = {
      rocAuc: auc,
      parent: atParent,
      parentMeanProbability: parent.reduce((s, p) => s + p, 0) / parent.length,
    };
    for (const [name, t] of results) {
      console.log(row(name, t));
      siteOut[name] = {
        passRate: t.passed / t.runs,
        failedOn: t.failedOn,
        sensP10: quantile(t.sens, 0.1),
        specP10: quantile(t.spec, 0.1),
        eceP90: quantile(t.ece, 0.9),
      };
    }
    console.log('');
    const adaHalvings = Number(args['adapt-bn-halvings']);
    if (adaHalvings > 0) {
      const ada = await simulateAdaBn(saved, site, labels, records, adaHalvings, seed, 'platt', 'sens=0.97');
      console.log(
        `AdaBN on half A (platt, sens=0.97, ${adaHalvings} halvings): mean held-out ROC-AUC ${ada.aucBefore.toFixed(4)} → ${ada.aucAfter.toFixed(4)}`,
      );
      console.log('| | passes | sens p10 / median | spec p10 / median | ECE median / p90 | fails |');
      console.log('|---|---|---|---|---|---|');
      console.log(row('without AdaBN', ada.without));
      console.log(row('with AdaBN', ada.withBn));
      console.log('');
      siteOut.adaBn = {
        aucBefore: ada.aucBefore,
        aucAfter: ada.aucAfter,
        passWith: ada.withBn.passed / ada.withBn.runs,
        passWithout: ada.without.passed / ada.without.runs,
      };
    }
    (out.sites as Record<string, unknown>)[site.name] = siteOut;
  }
  saved.model.dispose();
  if (args.json) await writeFile(args.json, `${JSON.stringify(out, null, 2)}\n`);
}

await main();
