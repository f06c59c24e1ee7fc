/**
 * The ReLU gradient as one kernel. TF.js differentiates ReLU as mul(dy, cast(step(x))): three full-size passes
 * per ReLU per step. `installReluGradient` (called by initEngine) registers a gradient that runs this kernel on
 * wasm (one SIMD pass, ../simd/kernels.c) and the same three ops on any other backend.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, simdKernels } from '../simd/index.ts';

/** Inputs dy and x (the ReLU's input); output dx. */
export const RELU_GRAD = 'PneumoscopeReluGrad';

interface ReluGradArgs {
  inputs: { dy: tf.TensorInfo; x: tf.TensorInfo };
  backend: BackendWasm;
}

function reluGrad({ inputs, backend }: ReluGradArgs): tf.TensorInfo {
  const { dy, x } = inputs;
  const dx = backend.makeOutput(x.shape, 'float32');
  const at = (t: tf.TensorInfo) => heapAddress(backend, t);
  simdKernels(backend).reluBackward(at(dy), at(x), at(dx), tf.util.sizeFromShape(x.shape));
  return dx;
}

export const reluGradConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as tf.KernelFunc,
};

/** dL/dx of y = relu(x), through RELU_GRAD where the active backend has it. */
function reluInputGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

let installed = false;

/** Replaces TF.js's ReLU gradient (same maths) with one that uses RELU_GRAD. Idempotent. */
export function installReluGradient(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return { x: () => reluInputGradient(dy as tf.Tensor, x) };
    },
  });
}
