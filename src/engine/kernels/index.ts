/**
 * Registers Pneumoscope's kernels on the wasm backend. Each kernel lives in its own file in this folder and is
 * tested numerically against the cpu backend (test/engine/kernels.test.ts).
 */
let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  // Kernel registrations are added here by the engine module (Conv2DBackpropFilter, Conv2DBackpropInput, MaxPoolGrad, ...).
}
