/**
 * A training path for tfjs-layers' 2-D convolutions, installed by `initEngine` on wasm.
 *
 * In training, tfjs-layers runs a convolution with a ReLU as three ops (Conv2D, a broadcasting Add of the bias,
 * Relu: three full passes forward, and a ReLU gradient, a bias reduction and two convolution gradients back),
 * and one without an activation through tfjs-core's fused op, whose custom gradient computes the input's
 * gradient even where nothing needs it (the first layer: its input is the image). Here the layer's training call
 * is one kernel, CONV2D_TRAIN (kernels/conv2d.ts: the direct SIMD convolution with bias and ReLU in the same
 * pass), with a registered gradient: the tape asks only for the gradients it needs, and the ReLU mask is applied
 * to dy once. Inference, other activations, dilation and channels-first data keep the stock code path; results
 * match it (test/engine/conv-layer.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CONV2D_TRAIN, type Conv2DTrainAttrs } from './kernels/conv2d.ts';
import { RELU_GRAD } from './kernels/relu-grad.ts';

/** The parts of tfjs-layers' Conv2D that the training path reads. */
interface ConvLayer {
  rank: number;
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable | null;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number[];
  activation: { getClassName(): string } | null;
}

type LayerCall = (
  this: ConvLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor;

/** 'relu' or 'linear' when the training path covers the layer, else null. */
function trainingActivation(layer: ConvLayer): 'relu' | 'linear' | null {
  const name = layer.activation?.getClassName() ?? 'linear';
  const activation =
    name === 'Relu' || name === 'relu' ? 'relu' : name === 'Linear' || name === 'linear' ? 'linear' : null;
  const plain =
    layer.rank === 2 &&
    layer.dataFormat === 'channelsLast' &&
    layer.padding !== 'causal' &&
    layer.dilationRate.every((d) => d === 1);
  return plain ? activation : null;
}

let stockCall: LayerCall | null = null;
let gradientRegistered = false;

/** The prototype that defines tfjs-layers' convolution `call` (shared by Conv1D/2D/3D). */
function convPrototype(): { call: LayerCall } {
  let proto = Object.getPrototypeOf(tfl.layers.conv2d({ filters: 1, kernelSize: 1 }));
  while (proto && !Object.hasOwn(proto, 'call')) proto = Object.getPrototypeOf(proto);
  return proto as { call: LayerCall };
}

function registerGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: CONV2D_TRAIN,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const { strides, pad, relu } = attrs as unknown as Conv2DTrainAttrs;
      // dy through the ReLU: y > 0 exactly where its input was; computed once, for all three gradients.
      const masked = relu
        ? (tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: y }) as tf.Tensor)
        : (dy as tf.Tensor);
      const convAttrs = { strides, pad, dataFormat: 'NHWC' };
      const run = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) =>
        tf.engine().runKernel(name, inputs, { ...convAttrs, ...extra } as tf.NamedAttrMap) as tf.Tensor;
      return {
        x: () => run(tf.Conv2DBackpropInput, { dy: masked, filter }, { inputShape: x.shape }),
        filter: () => run(tf.Conv2DBackpropFilter, { x, dy: masked }, { filterShape: filter.shape }),
        bias: () => tf.sum(masked, [0, 1, 2]),
      };
    },
  });
}

/** Routes Conv2D layers' training-mode call through CONV2D_TRAIN where the backend has it. Idempotent. */
export function installFastConvolution(): void {
  if (stockCall !== null) return;
  registerGradient();
  const proto = convPrototype();
  const original = proto.call;
  stockCall = original;
  proto.call = function fastCall(this: ConvLayer, inputs, kwargs) {
    const activation = kwargs?.training === true ? trainingActivation(this) : null;
    if (activation === null || tf.getKernel(CONV2D_TRAIN, tf.getBackend()) === undefined) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const filter = this.kernel.read();
      const attrs: Conv2DTrainAttrs = {
        strides: this.strides as [number, number],
        pad: this.padding as 'valid' | 'same',
        relu: activation === 'relu',
      };
      const named: tf.NamedTensorMap = this.bias ? { x, filter, bias: this.bias.read() } : { x, filter };
      return tf.engine().runKernel(CONV2D_TRAIN, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
  };
}

/** Puts the stock training path back (tests compare the two). */
export function uninstallFastConvolution(): void {
  if (stockCall === null) return;
  convPrototype().call = stockCall;
  stockCall = null;
}
