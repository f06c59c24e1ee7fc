/**
 * Model and optimiser state as plain arrays, to move it between threads exactly: weights in `model.weights`
 * order (trainable and not), and the optimiser's weights (Adam: iteration count, first and second moments) plus
 * its running products (Adam's beta^t, which `setWeights` would rebuild with pow() and so not bit-exactly).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface ArrayTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface OptimizerState {
  /** Class name and config, to create the same optimiser elsewhere (tf.serialization). */
  className: string;
  config: tf.serialization.ConfigDict;
  /** Null before the first step (no slots yet). */
  weights: ArrayTensor[] | null;
  /** Values of the optimiser's scalar running products (Adam: accBeta1, accBeta2), by field name. */
  products: Record<string, number>;
}

const PRODUCT_FIELDS = ['accBeta1', 'accBeta2'];

function toArray(name: string, tensor: tf.Tensor): ArrayTensor {
  // Float32Array.from: the iteration count is an int32 scalar (exact in float32 up to 2^24 steps).
  return { name, shape: [...tensor.shape], values: Float32Array.from(tensor.dataSync()) };
}

/** The optimiser's slot variables (fields holding arrays of { variable }), e.g. Adam's moments. */
function slotVariables(optimizer: tf.Optimizer): tf.Variable[] {
  const found: tf.Variable[] = [];
  for (const value of Object.values(optimizer as unknown as Record<string, unknown>)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      const variable = (item as { variable?: unknown } | null)?.variable;
      if (variable instanceof tf.Variable) found.push(variable);
    }
  }
  return found;
}

/** Every weight of the model (trainable and not), in `model.weights` order. */
export function readModelWeights(model: tfl.LayersModel): ArrayTensor[] {
  return model.weights.map((w) => toArray(w.originalName, w.read()));
}

export function writeModelWeights(model: tfl.LayersModel, weights: readonly ArrayTensor[]): void {
  const tensors = weights.map((w) => tf.tensor(w.values, w.shape));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

export async function readOptimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const fields = optimizer as unknown as Record<string, unknown>;
  const products: Record<string, number> = {};
  for (const field of PRODUCT_FIELDS) {
    const v = fields[field];
    if (v instanceof tf.Variable) products[field] = v.dataSync()[0];
  }
  // getWeights always lists the iteration count first; without any slot the optimiser has not stepped yet.
  const weights = named.length > 1 ? named.map((w) => toArray(w.name, w.tensor)) : null;
  tf.dispose(named.filter((w) => w.name === 'iter').map((w) => w.tensor));
  return {
    className: optimizer.getClassName(),
    config: optimizer.getConfig(),
    weights,
    products,
  };
}

/** A fresh optimiser of the state's class and config (without its slots: see writeOptimizerState). */
export function createOptimizer(state: Pick<OptimizerState, 'className' | 'config'>): tf.Optimizer {
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  const entry = map[state.className];
  if (!entry) throw new Error(`unknown optimizer class "${state.className}"`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, state.config) as tf.Optimizer;
}

export async function writeOptimizerState(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  if (state.weights) {
    // setWeights replaces the slots without freeing the old ones.
    tf.dispose(slotVariables(optimizer));
    const named = state.weights.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape) }));
    try {
      await optimizer.setWeights(named);
    } finally {
      tf.dispose(named.map((n) => n.tensor));
    }
  }
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(state.products)) {
    const v = fields[field];
    if (v instanceof tf.Variable) tf.tidy(() => v.assign(tf.scalar(value)));
  }
}
