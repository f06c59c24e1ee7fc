/**
 * The classifier's penultimate features, for the input gate's learned check: the input tensor(s) of the model's
 * final Dense layer(s), i.e. the pooled feature vector the classifier decides from. An ensemble
 * (src/model/ensemble.ts) has one final Dense layer per member; their inputs are concatenated in member order.
 *
 * `withFeatures` wraps a model into one that returns the probability AND the features from the same forward
 * pass, so the learned check costs no second pass. Browser-safe (TF.js only).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tflayers from '@tensorflow/tfjs-layers';

type SymbolicTensor = tfl.SymbolicTensor;

/** The inputs of the final Dense layers met walking back from the model's first output, in graph order. */
export function penultimateTensors(model: tfl.LayersModel): SymbolicTensor[] {
  const found: SymbolicTensor[] = [];
  const seen = new Set<number>();
  const walk = (tensor: SymbolicTensor): void => {
    if (seen.has(tensor.id)) return;
    seen.add(tensor.id);
    const layer = tensor.sourceLayer;
    if (layer.getClassName() === 'Dense') {
      found.push(tensor.inputs[0]);
      return;
    }
    for (const input of tensor.inputs) walk(input);
  };
  walk(model.outputs[0]);
  if (found.length === 0) throw new Error('input gate: the model has no Dense layer before its output');
  for (const t of found) {
    if (t.shape.length !== 2) {
      throw new Error(`input gate: the final Dense layer's input is not a flat feature vector (${t.shape})`);
    }
  }
  return found;
}

/** A model that outputs [probability, features of member 1, features of member 2, ...] in one pass. */
export interface FeatureModel {
  model: tfl.LayersModel;
  /** Width of the concatenated feature vector. */
  featureSize: number;
  /** Width of each member's feature vector, in output order. */
  widths: number[];
}

/** Wraps `model` (not copied: it shares the weights) so that one forward pass also returns its features. */
export function withFeatures(model: tfl.LayersModel): FeatureModel {
  const features = penultimateTensors(model);
  const widths = features.map((t) => t.shape[1] as number);
  const wrapped = tflayers.model({
    inputs: model.inputs,
    outputs: [model.outputs[0], ...features],
    name: `${model.name}_with_features`,
  });
  return { model: wrapped, featureSize: widths.reduce((a, b) => a + b, 0), widths };
}

/**
 * Concatenates per-output feature arrays (as `predictOutputs` returns them after the probability) into one
 * n × featureSize array, member after member for each image.
 */
export function concatFeatures(outputs: Float32Array[], widths: number[], n: number): Float32Array {
  const size = widths.reduce((a, b) => a + b, 0);
  if (outputs.length === 1 && widths.length === 1) return outputs[0];
  const out = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    let offset = i * size;
    outputs.forEach((output, k) => {
      out.set(output.subarray(i * widths[k], (i + 1) * widths[k]), offset);
      offset += widths[k];
    });
  }
  return out;
}
