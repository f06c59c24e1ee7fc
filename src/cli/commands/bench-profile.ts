/** The text form of `cxr bench --profile` (src/train/profile.ts): throughput, parts of the epoch, kernels. */
import type { KernelProfile } from '../../engine/profile.ts';
import { timingsByKernel } from '../../engine/profile.ts';
import type { EpochProfile } from '../../train/profile.ts';
import { alignRows } from '../table.ts';

const KERNEL_ROWS = 15;
const SHAPE_ROWS = 12;

function percent(part: number, whole: number): string {
  return `${((100 * part) / Math.max(whole, 1e-9)).toFixed(1)}%`;
}

function kernelTables(title: string, profile: KernelProfile, steps: number): string[] {
  const perStep = (ms: number) => (ms / steps).toFixed(2);
  const byKernel = timingsByKernel(profile.timings).slice(0, KERNEL_ROWS);
  const other = profile.wallMs - profile.kernelMs;
  const kernels = alignRows([
    ['kernel', 'ms/step', 'calls/step', 'share'],
    ...byKernel.map((t) => [
      t.kernel,
      perStep(t.selfMs),
      (t.calls / steps).toFixed(1),
      percent(t.selfMs, profile.wallMs),
    ]),
    ['(JavaScript between kernels)', perStep(other), '', percent(other, profile.wallMs)],
  ]);
  const shapes = alignRows([
    ['kernel and inputs', 'ms/step', 'share'],
    ...profile.timings
      .slice(0, SHAPE_ROWS)
      .map((t) => [`${t.kernel} ${t.shapes}`, perStep(t.selfMs), percent(t.selfMs, profile.wallMs)]),
  ]);
  return ['', title, ...kernels, '', ...shapes];
}

export function formatEpochProfile(p: EpochProfile): string {
  const steps = Math.max(1, Math.floor(p.trainImages / p.batchSize));
  const totalMs = Object.values(p.parts).reduce((a, b) => a + b, 0);
  const vsStep = (v: number) => `${(100 * (v / p.stepImagesPerSec - 1)).toFixed(1)}% vs the bare step`;
  const lines = [
    `${p.architecture} at ${p.imageSize} px, batch ${p.batchSize}, ${p.threads} thread(s), augmentation ` +
      `${p.augmentation}: one epoch of ${p.trainImages} training and ${p.valImages} validation images ` +
      '(random pixels)',
    ...alignRows([
      ['', 'img/s', ''],
      ['bare step (as cxr bench)', p.stepImagesPerSec.toFixed(1), ''],
      ['epoch steps (as the progress bar)', p.loopImagesPerSec.toFixed(1), vsStep(p.loopImagesPerSec)],
      ['whole epoch (+ precise BN, validation)', p.epochImagesPerSec.toFixed(1), vsStep(p.epochImagesPerSec)],
    ]),
    '',
    ...alignRows([
      ['part of the epoch', 'seconds', 'share'],
      ...Object.entries(p.parts).map(([part, ms]) => [part, (ms / 1000).toFixed(2), percent(ms, totalMs)]),
    ]),
  ];
  const replica = p.mainKernels ? `replica 0 of ${p.threads}, steps only` : 'this thread, whole epoch';
  lines.push(...kernelTables(`kernels (${replica}), per training step:`, p.stepKernels, steps));
  if (p.mainKernels) {
    lines.push(
      ...kernelTables(
        'kernels of the main thread (precise BN, validation), per training step:',
        p.mainKernels,
        steps,
      ),
    );
  }
  return lines.join('\n');
}
