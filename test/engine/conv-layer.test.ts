/**
 * The training path for Conv2D layers (src/engine/conv-layer.ts) against tfjs-layers' stock one, on wasm: same
 * outputs and gradients for input, kernel and bias (|diff| <= 1e-4 * max(1, |stock|)) with and without bias and
 * ReLU, strides 1 and 2, 'same' and 'valid', channel counts that are not multiples of 4; and no input gradient
 * for a first layer (nothing needs it).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/backend.ts';
import { installFastConvolution, uninstallFastConvolution } from '../../src/engine/conv-layer.ts';
import { profileKernels } from '../../src/engine/profile.ts';

interface Case {
  activation: 'relu' | 'linear';
  useBias: boolean;
  strides: number;
  padding: 'same' | 'valid';
  shape: number[];
  filters: number;
}

/** Output, and gradients of sum(output * weight) for the input, the kernel and the bias (if any). */
function run(c: Case, x: tf.Tensor, weight: (shape: number[]) => tf.Tensor): Float32Array[] {
  const layer = tfl.layers.conv2d({
    filters: c.filters,
    kernelSize: 3,
    strides: c.strides,
    padding: c.padding,
    activation: c.activation,
    useBias: c.useBias,
    kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }),
    biasInitializer: tfl.initializers.randomNormal({ seed: 4 }),
  });
  const values = (t: tf.Tensor) => t.dataSync().slice() as Float32Array;
  const result = tf.tidy(() => {
    const output = layer.apply(x, { training: true }) as tf.Tensor;
    const w = weight(output.shape);
    const loss = (input: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, w)) as tf.Scalar;
    const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => loss(x), vars);
    return [values(output), values(tf.grad(loss)(x)), ...vars.map((v) => values(grads[v.name]))];
  });
  layer.dispose();
  return result;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  const worst = Math.max(...Array.from(expected, (v, i) => Math.abs(v - actual[i])));
  assert.ok(worst <= 1e-4 * scale, `${what}: max |fast - stock| = ${worst}`);
}

before(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
});

describe('fast convolution layers', () => {
  const cases: Case[] = [];
  for (const activation of ['relu', 'linear'] as const)
    for (const strides of [1, 2])
      for (const padding of ['same', 'valid'] as const)
        cases.push({
          activation,
          useBias: activation === 'relu',
          strides,
          padding,
          shape: [2, 9, 8, 5],
          filters: 7,
        });
  cases.push({
    activation: 'linear',
    useBias: true,
    strides: 1,
    padding: 'same',
    shape: [3, 6, 6, 1],
    filters: 16,
  });
  for (const c of cases) {
    const label = `${c.activation}${c.useBias ? ' + bias' : ''}, stride ${c.strides}, ${c.padding}, [${c.shape}] -> ${c.filters}`;
    it(`matches the stock layer in training mode: ${label}`, () => {
      const x = tf.randomNormal(c.shape, 0, 1, 'float32', 1);
      const weight = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', 2);
      uninstallFastConvolution();
      const stock = run(c, x, weight);
      installFastConvolution();
      const fast = run(c, x, weight);
      x.dispose();
      assert.equal(fast.length, stock.length);
      const names = ['output', 'dx', 'dkernel', 'dbias'];
      for (const [i, s] of stock.entries()) assertClose(fast[i], s, names[i]);
    });
  }

  it("computes no input gradient for a model's first convolution", () => {
    const input = tfl.input({ shape: [10, 10, 1] });
    const conv = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false });
    const output = tfl.layers.globalAveragePooling2d({}).apply(conv.apply(input)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const x = tf.randomNormal([2, 10, 10, 1]);
    const { profile } = profileKernels(() =>
      tf.tidy(() => {
        const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
        tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
      }),
    );
    const kernels = new Set(profile.timings.map((t) => t.kernel));
    assert.ok(kernels.has('Conv2DBackpropFilter'));
    assert.ok(!kernels.has('Conv2DBackpropInput'), 'the input gradient was computed');
    x.dispose();
    model.dispose();
  });
});
