/**
 * Grad-CAM (Selvaraju et al., 2017): which regions of the image pushed the model's output up.
 *
 * The feature map is the last rank-4 tensor on the path from the output back towards the input, i.e. the output
 * of the last convolutional block before global pooling / flatten. It is found from the model's graph, never by
 * layer name. The gradient of the output *logit* (pre-sigmoid, so a confident model still has a gradient) with
 * respect to that map is taken by re-running only the layers after it: the head of a CNN (pooling, dense), whose
 * gradients every backend has, so no convolution backprop kernel is needed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

type SymbolicTensor = tfl.SymbolicTensor;

/** Where Grad-CAM looks: the feature map tensor and the layer that produces it. */
export interface GradCamTarget {
  layerName: string;
  /** Feature map height, width and channels (per image). */
  shape: [number, number, number];
  feature: SymbolicTensor;
}

export interface GradCamOptions {
  /** Use this layer's output instead of the automatically chosen one (must be rank 4: [N, H, W, C]). */
  layerName?: string;
}

/** One class-activation map per image, normalised to [0, 1], row-major `height` x `width`. */
export interface ClassActivationMap {
  width: number;
  height: number;
  data: Float32Array;
}

export interface GradCamResult {
  /** The model's output per image (its sigmoid probability), identical to `model.predict`. */
  probabilities: Float32Array;
  cams: ClassActivationMap[];
}

/** Picks the feature map Grad-CAM should explain. Throws when the model has no rank-4 feature map. */
export function findGradCamTarget(model: tfl.LayersModel, options: GradCamOptions = {}): GradCamTarget {
  return findGradCamTargets(model, options)[0];
}

/** Layers that merge parallel branches of equal standing (ensemble members): each branch is explained. */
const BRANCH_MERGES = new Set(['Average', 'Add', 'Concatenate', 'Maximum']);

/**
 * The feature maps Grad-CAM should explain: one for a single network, one per member for an ensemble whose
 * members are merged after their pooling (src/model/ensemble.ts). Walks back from the output along first inputs
 * until a rank-4 tensor (the last conv block's output); at a merge of rank-2 branches it follows every branch.
 */
export function findGradCamTargets(model: tfl.LayersModel, options: GradCamOptions = {}): GradCamTarget[] {
  const features: SymbolicTensor[] = [];
  if (options.layerName !== undefined) {
    const output = model.getLayer(options.layerName).output;
    if (Array.isArray(output) || output.rank !== 4) {
      throw new Error(`Grad-CAM: layer "${options.layerName}" does not output one [N, H, W, C] feature map`);
    }
    features.push(output);
  } else {
    const inputIds = new Set(model.inputs.map((t) => t.id));
    const walk = (start: SymbolicTensor | undefined): void => {
      let current = start;
      while (current && current.rank !== 4 && !inputIds.has(current.id)) {
        if (current.inputs.length > 1 && BRANCH_MERGES.has(current.sourceLayer.getClassName())) {
          for (const branch of current.inputs) walk(branch);
          return;
        }
        current = current.inputs[0];
      }
      if (current && current.rank === 4 && !inputIds.has(current.id)) features.push(current);
    };
    walk(model.outputs[0]);
  }
  if (features.length === 0)
    throw new Error('Grad-CAM: the model has no convolutional feature map before its output');
  const [, height, width] = features[0].shape as number[];
  return features.map((feature) => {
    const [, h, w, channels] = feature.shape as number[];
    if (h !== height || w !== width) {
      throw new Error('Grad-CAM: ensemble members have feature maps of different sizes');
    }
    return { layerName: feature.sourceLayer.name, shape: [h, w, channels], feature };
  });
}

/** Evaluates symbolic tensors of a model on concrete values, memoised per tensor; `known` seeds the values. */
class GraphEvaluator {
  private readonly values = new Map<number, tf.Tensor>();

  constructor(known: [SymbolicTensor, tf.Tensor][]) {
    for (const [symbolic, value] of known) this.values.set(symbolic.id, value);
  }

  evaluate(symbolic: SymbolicTensor): tf.Tensor {
    const known = this.values.get(symbolic.id);
    if (known) return known;
    if (symbolic.inputs.length === 0) {
      throw new Error(`Grad-CAM: no value for model input "${symbolic.name}"`);
    }
    const inputs = symbolic.inputs.map((t) => this.evaluate(t));
    const output = symbolic.sourceLayer.apply(inputs.length === 1 ? inputs[0] : inputs, {
      ...symbolic.callArgs,
      training: false,
    }) as tf.Tensor | tf.Tensor[];
    const value = Array.isArray(output) ? output[symbolic.outputTensorIndex ?? 0] : output;
    this.values.set(symbolic.id, value);
    return value;
  }
}

/** True when the output layer is a Dense layer with a sigmoid: its logit can be computed exactly. */
function isSigmoidDense(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() === 'Dense' && layer.getConfig().activation === 'sigmoid';
}

/** True when the output layer is a bare sigmoid (an ensemble's): its input is the logit. */
function isSigmoidActivation(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() === 'Activation' && layer.getConfig().activation === 'sigmoid';
}

/** The model's output logit for each image, from a graph whose feature map is already known. */
function outputLogit(model: tfl.LayersModel, graph: GraphEvaluator): tf.Tensor {
  const output = model.outputs[0];
  const layer = output.sourceLayer;
  if (isSigmoidDense(layer)) {
    const [kernel, bias] = layer.getWeights();
    const x = graph.evaluate(output.inputs[0]);
    const z = tf.matMul(x, kernel);
    return bias ? tf.add(z, bias) : z;
  }
  if (isSigmoidActivation(layer)) return graph.evaluate(output.inputs[0]);
  // Any other output: explain the output value itself (a positive per-image scale does not change the map).
  return graph.evaluate(output);
}

/**
 * Runs the model on `input` ([N, S, S, 1], as `model.predict` takes it) and returns its outputs and one
 * Grad-CAM map per image. The caller owns `input`; no tensors are left behind.
 */
export function gradCam(
  model: tfl.LayersModel,
  input: tf.Tensor4D,
  options: GradCamOptions = {},
): GradCamResult {
  const targets = findGradCamTargets(model, options);
  const [height, width] = targets[0].shape;
  const { probabilities, maps } = tf.tidy(() => {
    const forward = new GraphEvaluator([[model.inputs[0], input]]);
    const features = targets.map((t) => forward.evaluate(t.feature));
    const probabilities = forward.evaluate(model.outputs[0]).dataSync() as Float32Array;
    const logitSum = (...f: tf.Tensor[]) =>
      tf.sum(
        outputLogit(
          model,
          new GraphEvaluator([
            [model.inputs[0], input],
            ...targets.map((t, i): [SymbolicTensor, tf.Tensor] => [t.feature, f[i]]),
          ]),
        ),
      ) as tf.Scalar;
    // Images are independent in inference mode, so the gradient of the summed logits is each image's own.
    const grads = tf.grads(logitSum)(features);
    // An ensemble's map is the mean of its members' maps (each member contributes its share of the logit).
    const perTarget = features.map((f, i) => tf.relu(tf.sum(tf.mul(f, tf.mean(grads[i], [1, 2], true)), 3)));
    const cam = perTarget.length === 1 ? perTarget[0] : tf.div(tf.addN(perTarget), perTarget.length);
    return { probabilities, maps: cam.dataSync() as Float32Array };
  });
  const cams: ClassActivationMap[] = [];
  for (let i = 0; i < probabilities.length; i++) {
    const data = maps.slice(i * height * width, (i + 1) * height * width);
    cams.push({ width, height, data: normaliseToUnit(data) });
  }
  return { probabilities: Float32Array.from(probabilities), cams };
}

/** Scales to [0, 1] by the maximum; an all-zero map stays zero (nothing pushed the output up). */
export function normaliseToUnit(values: Float32Array): Float32Array {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (!(max > 0) || !Number.isFinite(max)) return values.fill(0);
  for (let i = 0; i < values.length; i++) values[i] /= max;
  return values;
}
