/**
 * An ensemble of K trained members saved as ONE TF.js model: the members' graphs side by side on a shared input,
 * each member's output turned into its calibrated logit (its own temperature folded into its last dense layer),
 * the logits averaged, then one sigmoid. Because the result is an ordinary LayersModel with one probability
 * output, everything downstream (predict, serve, evaluate, the browser, batch-norm folding) uses it unchanged;
 * Grad-CAM explains each member's feature map and averages them (src/explain/gradcam.ts).
 *
 * Averaging calibrated logits (not probabilities) keeps the ensemble's output a logit the model-level
 * temperature in metadata.json can calibrate again, and lets one confident member not swamp the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface EnsembleMember {
  model: tfl.LayersModel;
  /** The member's own temperature: its calibrated logit is logit / temperature. */
  temperature: number;
}

/** One layer entry of a Keras-style model topology. */
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

interface TopologyJson {
  class_name: string;
  config: {
    name: string;
    layers: LayerJson[];
    input_layers: [string, number, number][];
    output_layers: [string, number, number][];
  };
}

/** The name every member's layers start with, e.g. "m2_" for the third member. */
export function memberPrefix(index: number): string {
  return `m${index}_`;
}

const ENSEMBLE_MEAN = 'ensemble_mean';
const OUTPUT_NAME = 'probability';

/** One member's layers, renamed with its prefix, wired to the shared input, with a linear output named `logit`. */
function memberLayers(
  model: tfl.LayersModel,
  index: number,
  inputName: string,
): { layers: LayerJson[]; logit: string } {
  const topology = model.toJSON(null, false) as unknown as TopologyJson;
  const { layers, input_layers: inputs, output_layers: outputs } = topology.config;
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new Error('ensemble: each member must have exactly one input and one output');
  }
  const memberInput = inputs[0][0];
  const outputName = outputs[0][0];
  const prefix = memberPrefix(index);
  const rename = (name: string) => (name === memberInput ? inputName : prefix + name);
  const renamed: LayerJson[] = [];
  for (const layer of layers) {
    if (layer.name === memberInput) continue;
    const copy: LayerJson = structuredClone(layer);
    copy.name = rename(layer.name);
    copy.config.name = copy.name;
    copy.inbound_nodes = layer.inbound_nodes.map((node) =>
      node.map(([name, ...rest]) => [rename(name), ...rest]),
    );
    if (layer.name === outputName) {
      if (layer.class_name !== 'Dense' || layer.config.activation !== 'sigmoid') {
        throw new Error(
          `ensemble: a member's output must be a Dense layer with a sigmoid, got ${layer.class_name}`,
        );
      }
      copy.config.activation = 'linear';
    }
    renamed.push(copy);
  }
  return { layers: renamed, logit: rename(outputName) };
}

/**
 * Builds the ensemble model from trained members (same input shape). Member weights are copied; the members
 * themselves are left as they are (the caller disposes them).
 */
export async function combineMembers(members: EnsembleMember[], name = 'ensemble'): Promise<tfl.LayersModel> {
  if (members.length === 0) throw new Error('ensemble: no members');
  const first = members[0].model.toJSON(null, false) as unknown as TopologyJson;
  const inputName = first.config.input_layers[0][0];
  const inputLayer = first.config.layers.find((l) => l.name === inputName);
  if (!inputLayer) throw new Error('ensemble: the first member has no input layer');
  const layers: LayerJson[] = [inputLayer];
  const logits: string[] = [];
  members.forEach((member, index) => {
    const part = memberLayers(member.model, index, inputName);
    layers.push(...part.layers);
    logits.push(part.logit);
  });
  let merged = logits[0];
  if (logits.length > 1) {
    layers.push({
      name: ENSEMBLE_MEAN,
      class_name: 'Average',
      config: { name: ENSEMBLE_MEAN, trainable: false },
      inbound_nodes: [logits.map((l) => [l, 0, 0, {}])],
    });
    merged = ENSEMBLE_MEAN;
  }
  layers.push({
    name: OUTPUT_NAME,
    class_name: 'Activation',
    config: { name: OUTPUT_NAME, activation: 'sigmoid', trainable: false },
    inbound_nodes: [[[merged, 0, 0, {}]]],
  });
  const topology: TopologyJson = {
    class_name: 'Model',
    config: { name, layers, input_layers: [[inputName, 0, 0]], output_layers: [[OUTPUT_NAME, 0, 0]] },
  };
  const ensemble = await tfl.models.modelFromJSON({ modelTopology: topology as never });
  copyMemberWeights(ensemble, members);
  return ensemble;
}

/** Copies each member's weights into its prefixed layers, dividing the output layer's kernel and bias by T. */
function copyMemberWeights(ensemble: tfl.LayersModel, members: EnsembleMember[]): void {
  members.forEach(({ model, temperature }, index) => {
    if (!(temperature > 0)) throw new Error(`ensemble: member ${index} has temperature ${temperature}`);
    const outputLayer = model.outputs[0].sourceLayer;
    for (const layer of model.layers) {
      const weights = layer.getWeights();
      if (weights.length === 0) continue;
      const target = ensemble.getLayer(memberPrefix(index) + layer.name);
      if (layer === outputLayer) {
        const scaled = weights.map((w) => tf.div(w, temperature));
        target.setWeights(scaled);
        for (const w of scaled) w.dispose();
      } else {
        target.setWeights(weights);
      }
    }
  });
}
