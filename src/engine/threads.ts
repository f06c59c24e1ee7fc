/**
 * Multi-threaded wasm in Node. TF.js ships a threaded SIMD build whose XNNPACK operators (convolutions, matrix
 * products, pooling) split their work over a thread pool, but it only enables it in browsers: in Node its
 * loader hands Emscripten `blob:` URLs for the thread workers, which Node's worker_threads cannot load
 * (tfjs#3830). Here the module is created directly with file paths, and the result is registered as the
 * 'wasm' backend, so every kernel (stock and ours) runs unchanged, just on more cores.
 *
 * Two details of that build need help in Node:
 * - the worker script ships as a JS string; it is written once to a file in the temporary directory;
 * - the module caps its pool at half of `os.cpus().length` (it assumes two hyper-threads per core), so a
 *   2-CPU machine would get 1 thread. The count is presented as twice the requested threads while the module
 *   initialises, then restored.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

/** Priority of the wasm backend in TF.js's registry (as the package registers it). */
const WASM_PRIORITY = 2;

/** The Emscripten module of the threaded build, with the `tfjs` bindings BackendWasm expects. */
type WasmModule = ConstructorParameters<typeof BackendWasm>[0];
type ModuleFactory = (config: Record<string, unknown>) => Promise<WasmModule & ModuleExtras>;

interface ModuleExtras {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
}

function packageDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/**
 * Writes the pthread worker script (shipped as a string) to a file Node can start a worker from. The file is
 * named after its content, so every process reuses the same one and an upgrade gets a new one.
 */
function writeWorkerScript(contents: string): string {
  // The string holds real newlines where the script had "\n" escapes inside string literals (TF.js's own
  // loader undoes this the same way before making its Blob).
  const script = contents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `pneumoscope-wasm-worker-${hash}.js`);
  if (!fs.existsSync(file)) {
    // Write then rename, so a concurrent process never starts a worker from a half-written file.
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, script);
    fs.renameSync(partial, file);
  }
  return file;
}

/** Runs `fn` while os.cpus() reports `count` CPUs (the module reads it once, while it initialises). */
async function withReportedCpus<T>(count: number, fn: () => Promise<T>): Promise<T> {
  const real = os.cpus;
  const mutableOs = os as { cpus: typeof os.cpus };
  mutableOs.cpus = () => {
    const cpus = real();
    return Array.from({ length: count }, (_, i) => cpus[i % cpus.length]);
  };
  try {
    return await fn();
  } finally {
    mutableOs.cpus = real;
  }
}

async function createThreadedModule(threads: number): Promise<WasmModule> {
  const dir = packageDirectory();
  const require = createRequire(import.meta.url);
  const mainScript = path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as ModuleFactory;
  const { wasmWorkerContents } = require(
    path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js'),
  ) as {
    wasmWorkerContents: string;
  };
  const workerScript = writeWorkerScript(wasmWorkerContents);
  const binary = path.join(dir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
  const module = await withReportedCpus(2 * threads, () =>
    factory({
      mainScriptUrlOrBlob: mainScript,
      locateFile: (file: string) => {
        if (file.endsWith('.worker.js')) return workerScript;
        if (file.endsWith('.wasm')) return binary;
        return path.join(dir, 'wasm-out', file);
      },
    }),
  );
  // The same bindings TF.js's own loader attaches (backend_wasm.ts, init()).
  (module as unknown as { tfjs: Record<string, unknown> }).tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  detachWorkersFromEventLoop(module);
  return module;
}

interface PThreadRegistry {
  PThread?: { unusedWorkers: NodeWorkerHandle[]; runningWorkers: NodeWorkerHandle[] };
}
interface NodeWorkerHandle {
  ref(): unknown;
  unref(): unknown;
}

/**
 * Emscripten refs each thread's worker while its pthread runs, and XNNPACK's pool threads run for the life of
 * the module, so the process would never exit on its own. The pool is idle whenever JavaScript is not inside
 * a kernel, so the workers need not keep Node alive: their `ref` is made a no-op (before any thread starts).
 */
function detachWorkersFromEventLoop(module: WasmModule): void {
  const registry = (module as unknown as PThreadRegistry).PThread;
  if (!registry) return;
  for (const worker of [...registry.unusedWorkers, ...registry.runningWorkers]) {
    worker.ref = () => worker;
    worker.unref();
  }
}

/**
 * Replaces the registered 'wasm' backend with the threaded build using `threads` threads (the calling thread
 * included). Call before the wasm backend is first used; kernels registered for 'wasm' apply to it as well.
 * Returns the number of threads the pool really has.
 */
export async function registerThreadedWasmBackend(threads: number): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`wasm thread count must be a positive integer, got ${threads}`);
  }
  const module = await createThreadedModule(threads);
  setThreadsCount(threads);
  if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new BackendWasm(module), WASM_PRIORITY);
  return threads;
}
