/**
 * Grad-CAM on a model whose answer is known: its output rises with bright regions and falls with dark ones, so
 * the map must peak on a bright square wherever the square is put.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/backend.ts';
import { colourFor } from '../../src/explain/colormap.ts';
import { findGradCamTarget, gradCam } from '../../src/explain/gradcam.ts';
import { renderOverlay, upsampleMap } from '../../src/explain/overlay.ts';
import { createModel } from '../../src/model/architectures.ts';

const SIZE = 32;

/**
 * conv (filter 0: "bright here", filter 1: "dark here") → max-pool → global average → dense(+1, -1) → sigmoid.
 * Layer names are arbitrary on purpose: the feature map must be found from the graph, not by name.
 */
function brightnessModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 1] });
  const conv = tfl.layers.conv2d({
    filters: 2,
    kernelSize: 3,
    padding: 'same',
    activation: 'relu',
    name: 'zz_a',
  });
  const pool = tfl.layers.maxPooling2d({ poolSize: 2, name: 'zz_b' });
  const gap = tfl.layers.globalAveragePooling2d({ name: 'zz_c' });
  const drop = tfl.layers.dropout({ rate: 0.5, name: 'zz_d' });
  const dense = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'zz_e' });
  let x = conv.apply(input) as tfl.SymbolicTensor;
  x = pool.apply(x) as tfl.SymbolicTensor;
  x = drop.apply(gap.apply(x)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: dense.apply(x) as tfl.SymbolicTensor });
  const kernel = new Float32Array(9 * 2);
  for (let k = 0; k < 9; k++) {
    kernel[k * 2] = 1 / 9;
    kernel[k * 2 + 1] = -1 / 9;
  }
  conv.setWeights([tf.tensor4d(kernel, [3, 3, 1, 2]), tf.tensor1d([-128, 128])]);
  dense.setWeights([tf.tensor2d([0.05, -0.05], [2, 1]), tf.tensor1d([0])]);
  return model;
}

/** A dark image with one bright square; coordinates in the image's own pixels. */
function squareImage(width: number, height: number, square: { x: number; y: number; size: number }) {
  const data = new Uint8Array(width * height).fill(20);
  for (let y = square.y; y < square.y + square.size; y++) {
    for (let x = square.x; x < square.x + square.size; x++) data[y * width + x] = 230;
  }
  return { width, height, data };
}

async function modelInput(image: { width: number; height: number; data: Uint8Array }): Promise<tf.Tensor4D> {
  const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(SIZE, SIZE, { fit: 'fill' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return tf.tensor4d(Float32Array.from(resized), [1, SIZE, SIZE, 1]);
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`Grad-CAM (${backend})`, () => {
    test('the target is the last rank-4 feature map, found from the graph', async () => {
      await initEngine({ backend });
      const model = brightnessModel();
      assert.equal(findGradCamTarget(model).layerName, 'zz_b');
      const residual = createModel('default', { imageSize: 32 });
      assert.equal(findGradCamTarget(residual).layerName, 'stage4_out');
      const flattening = createModel('seed-cnn', { imageSize: 32 });
      assert.equal(findGradCamTarget(flattening).layerName, 'pool3');
      for (const m of [model, residual, flattening]) m.dispose();
    });

    test('the heatmap peaks on the bright square, at the image aspect ratio', async () => {
      await initEngine({ backend });
      const model = brightnessModel();
      const width = 120;
      const height = 80;
      for (const square of [
        { x: 10, y: 8, size: 24 },
        { x: 80, y: 44, size: 28 },
      ]) {
        const image = squareImage(width, height, square);
        const input = await modelInput(image);
        const before = tf.memory().numTensors;
        const { probabilities, cams } = gradCam(model, input);
        assert.equal(tf.memory().numTensors, before, 'Grad-CAM leaked tensors');
        const expected = (model.predict(input) as tf.Tensor).dataSync()[0];
        assert.ok(Math.abs(probabilities[0] - expected) < 1e-5);
        assert.deepEqual([cams[0].width, cams[0].height], [16, 16]);
        const heat = upsampleMap(cams[0], width, height);
        const peak = argmax(heat);
        const px = peak % width;
        const py = Math.floor(peak / width);
        assert.ok(
          px >= square.x && px < square.x + square.size && py >= square.y && py < square.y + square.size,
          `peak (${px}, ${py}) outside the square at (${square.x}, ${square.y})`,
        );
        const png = await renderOverlay({ image, cam: cams[0] });
        const meta = await sharp(png).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['png', width, height]);
        input.dispose();
      }
      model.dispose();
    });

    test('works on the default architecture with batch norm and a residual head', async () => {
      await initEngine({ backend });
      const model = createModel('default', { imageSize: 32 });
      const input = tf.randomUniform([3, 32, 32, 1], 0, 255, 'float32', 1) as tf.Tensor4D;
      const { probabilities, cams } = gradCam(model, input);
      assert.equal(probabilities.length, 3);
      for (const cam of cams) {
        assert.deepEqual([cam.width, cam.height], [2, 2]);
        assert.ok(cam.data.every((v) => v >= 0 && v <= 1 && Number.isFinite(v)));
      }
      input.dispose();
      model.dispose();
    });
  });
}

test('the colour map gets brighter from 0 to 1', () => {
  let previous = -1;
  for (let v = 0; v <= 1; v += 0.05) {
    const [r, g, b] = colourFor(v);
    const luminance = 0.299 * r + 0.587 * g + 0.114 * b;
    assert.ok(luminance > previous, `not monotone at ${v}`);
    previous = luminance;
  }
});
