/**
 * TF.js set-up: picks the backend and, for wasm, loads the .wasm binaries from node_modules (never the network)
 * and registers Pneumoscope's own kernels for the gradients the stock wasm backend lacks or runs slowly.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradient functions; tfjs-layers' bundle registers all of them. Importing
// it here makes tf.grad / optimizers work for any engine user, with or without the layers API.
import '@tensorflow/tfjs-layers';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installFastAdam } from './adam.ts';
import { installFastBatchNorm, uninstallFastBatchNorm } from './batch-norm.ts';
import { installFastConvolution } from './conv-layer.ts';
import { installReluGradient } from './kernels/relu-grad.ts';
import { registerThreadedWasmBackend } from './threads.ts';

export type BackendName = 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'cpu'];

export interface EngineOptions {
  backend?: BackendName;
  /**
   * Train batch-norm layers through the closed-form op of batch-norm.ts (default true). Same results as the
   * stock layer, several times fewer tensor passes; false restores the stock path.
   */
  fastBatchNorm?: boolean;
  /**
   * Threads for the wasm backend. Default: the CXR_WASM_THREADS environment variable, else DEFAULT_THREADS.
   * More than 1 uses TF.js's threaded SIMD build (XNNPACK's pool, the calling thread included; threads.ts) for
   * inference, and as many data-parallel replicas for training (parallel/trainer.ts).
   */
  threads?: number;
  /** The count when neither `threads` nor CXR_WASM_THREADS says (default DEFAULT_THREADS). */
  defaultThreads?: number;
}

/**
 * Threads when nobody asks: two, or one on a single-core machine. Two threads win everywhere measured on two
 * cores (training about 1.8x, inference about 1.7x one thread: docs/engine.md); more than two is untested.
 */
export const DEFAULT_THREADS = Math.min(2, os.availableParallelism());

/** The thread count asked for by the options or the environment. */
export function requestedThreads(options: EngineOptions = {}): number {
  const fromEnv = process.env.CXR_WASM_THREADS;
  const threads =
    options.threads ?? (fromEnv ? Number(fromEnv) : (options.defaultThreads ?? DEFAULT_THREADS));
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`wasm threads must be a positive integer, got ${options.threads ?? fromEnv}`);
  }
  return threads;
}

/** Threads the wasm backend's pool really has (1 for cpu, or before initEngine). */
export function engineThreads(): number {
  return initialised === 'wasm' ? Math.max(1, getThreadsCount()) : 1;
}

let initialised: BackendName | null = null;

/** Directory with the wasm binaries, resolved from the installed package so it works offline. */
export function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return `${path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}${path.sep}`;
}

/**
 * Initialises TF.js once per process; later calls with the same backend are no-ops (the thread count is fixed
 * by the first wasm initialisation).
 */
export async function initEngine(options: EngineOptions = {}): Promise<BackendName> {
  const backend = options.backend ?? 'wasm';
  if (!BACKEND_NAMES.includes(backend)) {
    throw new Error(`unknown backend "${backend}"; choose one of: ${BACKEND_NAMES.join(', ')}`);
  }
  // Production mode silences TF.js's console banners (e.g. the cpu backend's advice to install tfjs-node, which
  // this project deliberately does not use) so that `--json` and CSV output stay clean on every backend.
  tf.env().set('PROD', true);
  if (options.fastBatchNorm === false) uninstallFastBatchNorm();
  else installFastBatchNorm();
  installReluGradient();
  installFastConvolution();
  installFastAdam();
  if (initialised === backend) return backend;
  if (backend === 'wasm') {
    setWasmPaths(wasmDirectory());
    const threads = requestedThreads(options);
    if (threads > 1) await registerThreadedWasmBackend(threads);
    const { registerWasmKernels } = await import('./kernels/index.ts');
    registerWasmKernels();
  }
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`TF.js backend "${backend}" failed to initialise`);
  await tf.ready();
  initialised = backend;
  return backend;
}
