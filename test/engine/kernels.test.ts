/**
 * Pneumoscope's wasm kernels against the tfjs cpu backend (the reference implementation), on seeded random
 * inputs: odd and even sizes, batch > 1, every stride x padding combination the layers API can produce plus
 * explicit padding. Tolerance: |wasm - cpu| <= 1e-4 * max(1, max |cpu|) per tensor (float32 sums of up to a few
 * thousand terms, accumulated in a different order).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine/backend.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const PADDINGS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [1, 2],
    [0, 1],
    [0, 0],
  ],
];
const TOLERANCE = 1e-4;

/** Deterministic values in [-1, 1) (mulberry32), so a failure reproduces. */
function randomValues(count: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

interface Case {
  name: string;
  run(): tf.Tensor;
}

/** Runs `run` on both backends and returns [wasm, cpu] values. */
async function onBothBackends(run: () => tf.Tensor): Promise<[Float32Array, Float32Array, number[]]> {
  const results: Float32Array[] = [];
  let shape: number[] = [];
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const out = run();
    shape = out.shape;
    results.push(Float32Array.from(await out.data()));
    out.dispose();
  }
  await tf.setBackend('wasm');
  return [results[0], results[1], shape];
}

async function assertMatchesCpu({ name, run }: Case): Promise<void> {
  const [wasm, cpu, shape] = await onBothBackends(run);
  assert.equal(wasm.length, cpu.length, `${name}: sizes differ`);
  let scale = 1;
  for (const v of cpu) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) worst = Math.max(worst, Math.abs(wasm[i] - cpu[i]));
  assert.ok(
    worst <= TOLERANCE * scale,
    `${name} [${shape}]: max |wasm - cpu| = ${worst} > ${TOLERANCE} * ${scale}`,
  );
}

function tensor(shape: number[], seed: number, transform?: (v: number) => number): tf.Tensor {
  const values = randomValues(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return tf.tensor(transform ? values.map(transform) : values, shape);
}

function padLabel(pad: Pad): string {
  return typeof pad === 'string' ? pad : 'explicit';
}

before(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('convolution gradients (wasm vs cpu)', () => {
  const geometries = [
    { n: 2, h: 7, w: 6, ci: 3, co: 4, k: [3, 3] },
    { n: 3, h: 8, w: 8, ci: 1, co: 5, k: [3, 3] },
    { n: 2, h: 9, w: 5, ci: 4, co: 2, k: [1, 1] },
    { n: 2, h: 6, w: 7, ci: 2, co: 3, k: [2, 3] },
    // One input channel and 16k output channels: the SIMD filter-gradient path (3-tap and 1-tap passes).
    { n: 2, h: 9, w: 7, ci: 1, co: 16, k: [3, 3] },
    { n: 2, h: 6, w: 8, ci: 1, co: 32, k: [2, 2] },
    // Input channels % 4 == 0 and output channels % 8 == 0: the cache-blocked SIMD path.
    { n: 3, h: 7, w: 6, ci: 4, co: 8, k: [3, 3] },
    { n: 2, h: 8, w: 5, ci: 8, co: 16, k: [1, 1] },
    // Channel counts that are not multiples of 4 or 8 (the direct convolution pads its packed filter).
    { n: 2, h: 9, w: 11, ci: 5, co: 13, k: [3, 3] },
    { n: 1, h: 7, w: 6, ci: 7, co: 9, k: [5, 5] },
  ];
  for (const g of geometries) {
    for (const stride of [1, 2]) {
      for (const pad of PADDINGS) {
        const label = `${g.n}x${g.h}x${g.w}x${g.ci}->${g.co}, ${g.k.join('x')}, stride ${stride}, ${padLabel(pad)}`;
        it(`Conv2D, FusedConv2D, Conv2DBackpropFilter and Conv2DBackpropInput: ${label}`, async () => {
          const xShape = [g.n, g.h, g.w, g.ci] as [number, number, number, number];
          const filterShape = [g.k[0], g.k[1], g.ci, g.co] as [number, number, number, number];
          const yShape = tf.tidy(
            () =>
              tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, stride, pad)
                .shape,
          );
          const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC' };
          await assertMatchesCpu({
            name: `dW ${label}`,
            run: () =>
              tf.tidy(
                () =>
                  tf
                    .engine()
                    .runKernel(
                      'Conv2DBackpropFilter',
                      { x: tensor(xShape, 1), dy: tensor(yShape, 2) },
                      { ...attrs, filterShape },
                    ) as tf.Tensor,
              ),
          });
          await assertMatchesCpu({
            name: `conv2d ${label}`,
            run: () =>
              tf.tidy(() =>
                tf.conv2d(
                  tensor(xShape, 5) as tf.Tensor4D,
                  tensor(filterShape, 6) as tf.Tensor4D,
                  stride,
                  pad,
                ),
              ),
          });
          await assertMatchesCpu({
            name: `fused conv2d + bias + relu ${label}`,
            run: () =>
              tf.tidy(() =>
                tf.fused.conv2d({
                  x: tensor(xShape, 7) as tf.Tensor4D,
                  filter: tensor(filterShape, 8) as tf.Tensor4D,
                  strides: stride,
                  pad,
                  bias: tensor([g.co], 9),
                  activation: 'relu',
                }),
              ),
          });
          await assertMatchesCpu({
            name: `dx ${label}`,
            run: () =>
              tf.tidy(
                () =>
                  tf
                    .engine()
                    .runKernel(
                      'Conv2DBackpropInput',
                      { dy: tensor(yShape, 3), filter: tensor(filterShape, 4) },
                      { ...attrs, inputShape: xShape },
                    ) as tf.Tensor,
              ),
          });
        });
      }
    }
  }

  it('dilated convolution: forward matches; tfjs-core refuses its gradient on every backend', async () => {
    const x = () => tensor([2, 9, 8, 2], 5) as tf.Tensor4D;
    const filter = () => tensor([3, 3, 2, 3], 6) as tf.Tensor4D;
    await assertMatchesCpu({
      name: 'dilated conv2d',
      run: () => tf.tidy(() => tf.conv2d(x(), filter(), 1, 'same', 'NHWC', 2)),
    });
    assert.throws(
      () =>
        tf.tidy(() =>
          tf.grad((input: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, filter(), 1, 'same', 'NHWC', 2))(x()),
        ),
      /dilation/i,
    );
  });
});

describe('MaxPoolGrad (wasm vs cpu): the gradient goes to the first maximum of each window', () => {
  const pools = [
    { shape: [2, 8, 6, 3], size: 2, stride: 2, pad: 'valid' as const },
    // 8 and 6 channels: the SIMD kernel's 4-wide path, and 4-wide plus a scalar tail.
    { shape: [2, 8, 6, 8], size: 2, stride: 2, pad: 'valid' as const },
    { shape: [3, 4, 6, 6], size: 2, stride: 2, pad: 'same' as const },
    { shape: [2, 7, 5, 3], size: 2, stride: 2, pad: 'same' as const },
    { shape: [2, 7, 5, 3], size: 2, stride: 2, pad: 'valid' as const },
    { shape: [2, 9, 8, 2], size: 3, stride: 2, pad: 'same' as const },
    { shape: [2, 6, 7, 2], size: 3, stride: 1, pad: 'same' as const },
    { shape: [3, 5, 5, 4], size: 3, stride: 2, pad: 'valid' as const },
  ];
  // Quantised values and a ReLU make ties common (all-zero windows), as in real training.
  const tied = (v: number) => Math.max(0, Math.round(v * 2));
  for (const p of pools) {
    for (const [label, transform] of [
      ['random', undefined],
      ['with ties', tied],
    ] as const) {
      it(`${p.shape.join('x')}, pool ${p.size}, stride ${p.stride}, ${p.pad}, ${label}`, async () => {
        await assertMatchesCpu({
          name: `MaxPoolGrad ${label}`,
          run: () =>
            tf.tidy(() => {
              const x = tensor(p.shape, 7, transform) as tf.Tensor4D;
              const f = (input: tf.Tensor) =>
                tf.mul(
                  tf.maxPool(input as tf.Tensor4D, p.size, p.stride, p.pad),
                  tensor(tf.maxPool(x, p.size, p.stride, p.pad).shape, 8),
                );
              return tf.grad(f)(x);
            }),
        });
      });
    }
  }
});

describe('ReLU gradient (wasm vs cpu)', () => {
  for (const shape of [
    [2, 5, 3, 4],
    [7, 3],
  ]) {
    it(`[${shape}] with exact zeros and negatives`, async () => {
      // Rounded values make exact zeros, where the gradient must be 0 (TF.js's step(0) = 0).
      const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tensor(shape, 17)));
      await assertMatchesCpu({
        name: 'relu grad',
        run: () => tf.tidy(() => tf.grad(f)(tensor(shape, 16, (v) => Math.round(v * 2)))),
      });
    });
  }
});

describe('inference batch norm (wasm vs cpu)', () => {
  for (const shape of [
    [2, 5, 7, 3],
    [3, 4, 16],
    [1, 6, 6, 13],
  ]) {
    it(`FusedBatchNorm [${shape}] with and without scale and offset`, async () => {
      const c = shape[shape.length - 1];
      const stat = (seed: number, f: (v: number) => number) => tensor([c], seed, f);
      await assertMatchesCpu({
        name: 'batchNorm',
        run: () =>
          tf.tidy(() =>
            tf.batchNorm(
              tensor(shape, 21),
              stat(22, (v) => v),
              stat(23, (v) => v + 1.5),
              stat(24, (v) => v),
              stat(25, (v) => v * 2),
              1e-3,
            ),
          ),
      });
      await assertMatchesCpu({
        name: 'batchNorm without scale and offset',
        run: () =>
          tf.tidy(() =>
            tf.batchNorm(
              tensor(shape, 26),
              stat(27, (v) => v),
              stat(28, (v) => v + 1.5),
            ),
          ),
      });
    });
  }
});

describe('reductions, tiling and transposed matrix products (wasm vs cpu)', () => {
  const reductions: [number[], number[], boolean][] = [
    [[4, 5, 6, 3], [0, 1, 2], false],
    [[4, 5, 6, 3], [0, 1, 2], true],
    [[7, 3], [0], false],
    [[2, 3, 5], [0, 1], false],
    [[4, 5, 6, 3], [1, 2], false],
    [[4, 5, 6, 3], [3], true],
    [[1, 1, 1, 5], [0, 1, 2], false],
  ];
  for (const [shape, axes, keepDims] of reductions) {
    it(`Sum and Mean over ${JSON.stringify(axes)} of [${shape}]${keepDims ? ', keepDims' : ''}`, async () => {
      await assertMatchesCpu({
        name: 'sum',
        run: () => tf.tidy(() => tf.sum(tensor(shape, 9), axes, keepDims)),
      });
      await assertMatchesCpu({
        name: 'mean',
        run: () => tf.tidy(() => tf.mean(tensor(shape, 10), axes, keepDims)),
      });
    });
  }

  const additions: [number[], number[]][] = [
    [[2, 3, 4, 8], [8]],
    [[8], [2, 3, 4, 8]],
    [
      [5, 12],
      [1, 12],
    ],
    [[2, 3, 4, 6], [6]],
    [
      [2, 3, 4, 8],
      [2, 3, 4, 8],
    ],
  ];
  for (const [aShape, bShape] of additions) {
    it(`Add [${aShape}] + [${bShape}]`, async () => {
      await assertMatchesCpu({
        name: 'add',
        run: () => tf.tidy(() => tf.add(tensor(aShape, 18), tensor(bShape, 19))),
      });
    });
  }

  const tiles: [number[], number[]][] = [
    [
      [1, 1, 1, 5],
      [3, 4, 2, 1],
    ],
    [
      [2, 3],
      [2, 3],
    ],
    [[3], [4]],
    [
      [2, 1, 3],
      [1, 5, 2],
    ],
  ];
  for (const [shape, reps] of tiles) {
    it(`Tile [${shape}] by [${reps}]`, async () => {
      await assertMatchesCpu({ name: 'tile', run: () => tf.tidy(() => tf.tile(tensor(shape, 11), reps)) });
    });
  }

  for (const [transposeA, transposeB] of [
    [true, false],
    [false, true],
    [true, true],
    [false, false],
  ]) {
    it(`matMul transposeA=${transposeA} transposeB=${transposeB}, and a batched product`, async () => {
      const a = () => tensor(transposeA ? [5, 3] : [3, 5], 12);
      const b = () => tensor(transposeB ? [4, 5] : [5, 4], 13);
      await assertMatchesCpu({
        name: 'matMul',
        run: () => tf.tidy(() => tf.matMul(a(), b(), transposeA, transposeB)),
      });
      await assertMatchesCpu({
        name: 'batched matMul',
        run: () => tf.tidy(() => tf.matMul(tensor([2, 3, 5], 14), tensor([2, 4, 5], 15), false, true)),
      });
    });
  }
});
