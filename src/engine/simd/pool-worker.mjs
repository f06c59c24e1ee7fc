// A helper thread of the SIMD kernel pool (pool.ts): it instantiates kernels-shared.wasm on the wasm backend's
// shared memory and runs the kernel calls the pool hands it, forever. Plain JavaScript, so that it starts in
// milliseconds without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';

const { memory, moduleBytes, control, slot } = workerData;
const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes), { env: { memory } });
const names = Object.keys(instance.exports).sort();
const state = new Int32Array(control);
const args = new Float64Array(control);

// Layout (pool.ts): int32 [0] sequence, [1] done count; float64 from index 1 + slot * SLOT_FLOATS:
// [function index, argument count, arguments...].
const SLOT_FLOATS = 32;
let seen = 0;
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(state, 0, seen);
  seen = Atomics.load(state, 0);
  const base = 1 + slot * SLOT_FLOATS;
  const fn = instance.exports[names[args[base]]];
  const count = args[base + 1];
  if (count >= 0) fn(...args.subarray(base + 2, base + 2 + count));
  Atomics.add(state, 1, 1);
  Atomics.notify(state, 1);
}
