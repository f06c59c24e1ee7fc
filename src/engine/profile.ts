/**
 * Kernel-level timing of the active backend: while `profileKernels` runs, every registered kernel of the backend
 * is wrapped with a wall-clock timer. Composite kernels (ours call other kernels directly) are split into self
 * time and the time of the kernels they ran, so the self times add up to the time spent inside kernels; the rest
 * of the wall-clock time is JavaScript between kernels (TF.js's tape, tidy, optimiser bookkeeping, data copies).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Time spent in one kernel, for one combination of input shapes. */
export interface KernelTiming {
  kernel: string;
  /** Input shapes, e.g. "x[32,56,56,16] dy[32,56,56,32]". */
  shapes: string;
  calls: number;
  /** Milliseconds in the kernel itself, excluding kernels it ran. */
  selfMs: number;
}

export interface KernelProfile {
  wallMs: number;
  /** Sum of self times: the part of wallMs spent inside kernels. */
  kernelMs: number;
  timings: KernelTiming[];
}

interface Frame {
  started: number;
  childMs: number;
}

function shapesOf(inputs: Record<string, tf.TensorInfo | undefined>): string {
  return Object.entries(inputs)
    .filter(([, t]) => t?.shape !== undefined)
    .map(([name, t]) => `${name}[${(t as tf.TensorInfo).shape.join(',')}]`)
    .join(' ');
}

/**
 * Starts timing every kernel of the active backend; `stop()` restores the kernels and returns the timings. One
 * profile at a time per thread.
 */
export function startKernelProfile(): { stop(): KernelProfile } {
  const configs = tf.getKernelsForBackend(tf.getBackend());
  const originals = configs.map((c) => c.kernelFunc);
  const table = new Map<string, KernelTiming>();
  const stack: Frame[] = [];
  configs.forEach((config, i) => {
    const original = originals[i];
    config.kernelFunc = (args) => {
      const frame: Frame = { started: performance.now(), childMs: 0 };
      stack.push(frame);
      try {
        return original(args);
      } finally {
        stack.pop();
        const total = performance.now() - frame.started;
        const parent = stack[stack.length - 1];
        if (parent) parent.childMs += total;
        const shapes = shapesOf(args.inputs as Record<string, tf.TensorInfo | undefined>);
        const key = `${config.kernelName} ${shapes}`;
        const row = table.get(key) ?? { kernel: config.kernelName, shapes, calls: 0, selfMs: 0 };
        row.calls++;
        row.selfMs += total - frame.childMs;
        table.set(key, row);
      }
    };
  });
  const started = performance.now();
  return {
    stop() {
      configs.forEach((config, i) => {
        config.kernelFunc = originals[i];
      });
      const wallMs = performance.now() - started;
      const timings = [...table.values()].sort((a, b) => b.selfMs - a.selfMs);
      const kernelMs = timings.reduce((sum, t) => sum + t.selfMs, 0);
      return { wallMs, kernelMs, timings };
    },
  };
}

/** Runs `fn` with every kernel of the active backend timed; returns its result and the timings. */
export function profileKernels<T>(fn: () => T): { result: T; profile: KernelProfile } {
  const session = startKernelProfile();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    session.stop();
    throw error;
  }
  return { result, profile: session.stop() };
}

/** Timings summed per kernel name (all shapes together), largest first. */
export function timingsByKernel(timings: readonly KernelTiming[]): KernelTiming[] {
  const byName = new Map<string, KernelTiming>();
  for (const t of timings) {
    const row = byName.get(t.kernel) ?? { kernel: t.kernel, shapes: '', calls: 0, selfMs: 0 };
    row.calls += t.calls;
    row.selfMs += t.selfMs;
    byName.set(t.kernel, row);
  }
  return [...byName.values()].sort((a, b) => b.selfMs - a.selfMs);
}
