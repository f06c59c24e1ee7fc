/**
 * Pneumoscope's SIMD kernels on more than one thread, for TF.js's threaded build. XNNPACK splits its own
 * operators over Emscripten's pthread pool, which our kernels cannot join; so the pool keeps its own helper
 * threads (pool-worker.mjs), each with an instance of kernels-shared.wasm on the backend's shared memory. A
 * parallel call hands each helper one kernel call (typically a share of the batch) through shared memory and runs
 * the first share in the calling thread, then waits for the helpers. While the helpers run, XNNPACK's pool
 * sleeps, and the other way round, so the two never compete for the cores.
 */
import { Worker } from 'node:worker_threads';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backendMemory, moduleBytes } from './index.ts';

/** Float64 values per helper's call slot: function index, argument count, up to 30 arguments. */
const SLOT_FLOATS = 32;

export class KernelPool {
  private readonly state: Int32Array;
  private readonly args: Float64Array;
  private readonly names: string[];
  private readonly local: Record<string, (...args: number[]) => void>;
  private done = 0;

  private constructor(
    private readonly helpers: Worker[],
    control: SharedArrayBuffer,
    memory: WebAssembly.Memory,
    bytes: Uint8Array<ArrayBuffer>,
  ) {
    this.state = new Int32Array(control);
    this.args = new Float64Array(control);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    this.local = instance.exports as Record<string, (...args: number[]) => void>;
    this.names = Object.keys(instance.exports).sort();
  }

  /** Threads a parallel call runs on: this one and the helpers. */
  get threads(): number {
    return this.helpers.length + 1;
  }

  static create(memory: WebAssembly.Memory, threads: number): KernelPool {
    const bytes = moduleBytes(memory);
    const control = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * (1 + (threads - 1) * SLOT_FLOATS));
    const helpers = Array.from({ length: threads - 1 }, (_, slot) => {
      const worker = new Worker(new URL('./pool-worker.mjs', import.meta.url), {
        workerData: { memory, moduleBytes: bytes, control, slot },
      });
      // The helpers wait on shared memory forever; they must not keep the process alive.
      worker.unref();
      return worker;
    });
    return new KernelPool(helpers, control, memory, bytes);
  }

  /**
   * Runs kernel `name` (its export name in kernels.c) once per entry of `calls`: the first here, the others on
   * the helpers (at most `threads` entries), and returns when all are done.
   */
  run(name: string, calls: number[][]): void {
    if (calls.length > this.threads)
      throw new Error(`${calls.length} calls for a pool of ${this.threads} threads`);
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`no kernel "${name}" in the SIMD module`);
    for (let slot = 0; slot < this.helpers.length; slot++) {
      const call = calls[slot + 1];
      const base = 1 + slot * SLOT_FLOATS;
      this.args[base] = index;
      // A negative count: nothing for this helper this time (it still reports done).
      this.args[base + 1] = call ? call.length : -1;
      if (call) this.args.set(call, base + 2);
    }
    Atomics.add(this.state, 0, 1);
    Atomics.notify(this.state, 0);
    this.local[name](...calls[0]);
    this.done += this.helpers.length;
    for (let seen = Atomics.load(this.state, 1); seen < this.done; seen = Atomics.load(this.state, 1)) {
      Atomics.wait(this.state, 1, seen);
    }
  }

  dispose(): Promise<unknown> {
    return Promise.all(this.helpers.map((w) => w.terminate()));
  }
}

const pools = new WeakMap<object, KernelPool | null>();

/**
 * The pool for this backend: as many threads as its XNNPACK pool when the backend is TF.js's threaded build
 * (shared memory), else null (one thread: call the kernels directly).
 */
export function kernelPool(backend: BackendWasm): KernelPool | null {
  const key = backend.wasm as unknown as object;
  if (pools.has(key)) return pools.get(key) ?? null;
  const memory = backendMemory(backend);
  const bindings = (backend.wasm as unknown as { tfjs: { getThreadsCount?: () => number } }).tfjs;
  const threads = bindings.getThreadsCount?.() ?? 1;
  const pool =
    memory.buffer instanceof SharedArrayBuffer && threads > 1 ? KernelPool.create(memory, threads) : null;
  pools.set(key, pool);
  return pool;
}
