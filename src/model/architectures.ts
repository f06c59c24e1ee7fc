/**
 * The model registry: architecture name -> factory, plus the preprocessing each architecture expects (timm's
 * pattern: the model carries its input config, metadata.json is built from it and serving reads it back, so
 * training and serving cannot drift apart). Every model here takes a [N, S, S, 1] float32 tensor of grey values
 * in [0, 255] and outputs P(PNEUMONIA) through a sigmoid, as the original Keras project did. Scaling to a unit
 * range happens inside the model so callers never normalise by hand.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingConfig } from './metadata.ts';

export interface ArchitectureOptions {
  /** Square input side in pixels. */
  imageSize: number;
  /** Dropout rate before the classifier (where the architecture has one). */
  dropout?: number;
  /** L2 weight decay on convolution and dense kernels (where the architecture uses it). */
  l2?: number;
}

/** The preprocessing of an architecture apart from its (adjustable) input size. */
export type InputFormat = Omit<PreprocessingConfig, 'imageSize'>;

export interface Architecture {
  /** What it is and why it is built that way, shown by `cxr train --help` and in the model card. */
  description: string;
  /** Square input side used when the user does not pass --image-size. */
  defaultImageSize: number;
  /** How images become the model's input tensor (channels, resize rule, value range). */
  input: InputFormat;
  create(options: ArchitectureOptions): tfl.LayersModel;
}

/** 8-bit grey, stretched to the square, raw grey values: what every architecture here reads. */
const GREY_0_255_STRETCHED: InputFormat = { channels: 1, resize: 'stretch', inputRange: [0, 255] };

/** Maps grey values [0, 255] to roughly zero-mean unit-range inputs. */
function scaledInput(imageSize: number): { input: tfl.SymbolicTensor; scaled: tfl.SymbolicTensor } {
  const input = tfl.input({ shape: [imageSize, imageSize, 1], name: 'image' });
  const scaled = tfl.layers
    .rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescale' })
    .apply(input) as tfl.SymbolicTensor;
  return { input, scaled };
}

function apply(layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor {
  return layer.apply(x) as tfl.SymbolicTensor;
}

/** Keras-style stages: conv3x3-relu then 2x2 max-pool per entry, layers named conv1/pool1, conv2/pool2, ... */
function convReluPoolStack(x: tfl.SymbolicTensor, filtersPerStage: number[]): tfl.SymbolicTensor {
  for (const [i, filters] of filtersPerStage.entries()) {
    x = apply(
      tfl.layers.conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `conv${i + 1}`,
      }),
      x,
    );
    x = apply(tfl.layers.maxPooling2d({ poolSize: 2, name: `pool${i + 1}` }), x);
  }
  return x;
}

/**
 * The benchmark's reference CNN (../shared/bench/README.md), identical to the PyTorch model it is compared with:
 * conv3x3(16)-relu-pool / conv3x3(32)-relu-pool / conv3x3(64)-relu-pool / conv3x3(64)-relu / GAP / dense(1).
 */
function referenceCnn({ imageSize }: ArchitectureOptions): tfl.LayersModel {
  const input = tfl.input({ shape: [imageSize, imageSize, 1], name: 'image' });
  let x = convReluPoolStack(input, [16, 32, 64]);
  x = apply(
    tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv4' }),
    x,
  );
  x = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
  const output = apply(tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'probability' }), x);
  return tfl.model({ inputs: input, outputs: output, name: 'reference-cnn' });
}

/**
 * The original Keras project's kind of model, kept as the baseline: stacks of conv/relu/max-pool, a flattening
 * dense head with dropout, and a sigmoid output.
 */
function seedCnn({ imageSize, dropout = 0.5 }: ArchitectureOptions): tfl.LayersModel {
  const { input, scaled } = scaledInput(imageSize);
  let x = convReluPoolStack(scaled, [32, 64, 128]);
  x = apply(tfl.layers.flatten({ name: 'flatten' }), x);
  x = apply(tfl.layers.dense({ units: 64, activation: 'relu', name: 'fc' }), x);
  x = apply(tfl.layers.dropout({ rate: dropout, name: 'dropout' }), x);
  const output = apply(tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'probability' }), x);
  return tfl.model({ inputs: input, outputs: output, name: 'seed-cnn' });
}

/**
 * Batch-norm moving-average momentum. Keras's 0.99 averages over ~100 steps and keeps 0.99^n of the initial
 * variance (1.0) for n steps: after the ~300 steps of two CPU epochs that residue still swamped channels whose
 * true variance is ~0.001, and inference-mode outputs called every image PNEUMONIA while training-mode outputs
 * were right. 0.9 tracks the weights within ~10 steps, which suits runs of a few thousand steps.
 */
export const BATCH_NORM_MOMENTUM = 0.9;

function batchNorm(name: string): tfl.layers.Layer {
  return tfl.layers.batchNormalization({ momentum: BATCH_NORM_MOMENTUM, name });
}

/** A 'same'-padded convolution without bias (the batch norm after it has one), with optional L2 decay. */
function convNoBias(args: {
  filters: number;
  kernelSize: number;
  name: string;
  l2: number;
}): tfl.layers.Layer {
  const { filters, kernelSize, name, l2 } = args;
  const kernelRegularizer = l2 > 0 ? tfl.regularizers.l2({ l2 }) : undefined;
  return tfl.layers.conv2d({ filters, kernelSize, padding: 'same', useBias: false, kernelRegularizer, name });
}

function convBnRelu(x: tfl.SymbolicTensor, filters: number, name: string, l2: number): tfl.SymbolicTensor {
  x = apply(convNoBias({ filters, kernelSize: 3, name: `${name}_conv`, l2 }), x);
  x = apply(batchNorm(`${name}_bn`), x);
  return apply(tfl.layers.reLU({ name: `${name}_relu` }), x);
}

/** Two conv-BN layers with an identity (or 1x1 projection) shortcut, as in ResNet's basic block. */
function residualBlock(x: tfl.SymbolicTensor, filters: number, name: string, l2: number): tfl.SymbolicTensor {
  const inChannels = x.shape[x.shape.length - 1];
  let shortcut = x;
  if (inChannels !== filters) {
    shortcut = apply(convNoBias({ filters, kernelSize: 1, name: `${name}_proj`, l2 }), x);
    shortcut = apply(batchNorm(`${name}_proj_bn`), shortcut);
  }
  let y = convBnRelu(x, filters, `${name}_a`, l2);
  y = apply(convNoBias({ filters, kernelSize: 3, name: `${name}_b_conv`, l2 }), y);
  y = apply(batchNorm(`${name}_b_bn`), y);
  y = apply(tfl.layers.add({ name: `${name}_add` }), [y, shortcut]);
  return apply(tfl.layers.reLU({ name: `${name}_out` }), y);
}

/**
 * Pneumoscope's default: a small residual CNN with batch norm and global average pooling.
 * - Residual blocks with batch norm train quickly and stably from scratch on a few thousand images.
 * - Global average pooling instead of a large flattening dense layer: far fewer parameters (a small model file),
 *   less over-fitting to one hospital's images, and a last conv block that Grad-CAM can explain.
 * - Cheap early layers (one conv at full resolution) keep CPU training within budget: most compute sits at
 *   32x32 and 16x16, where the lung patterns that matter are a few pixels wide.
 */
function defaultCnn({ imageSize, dropout = 0.3, l2 = 1e-4 }: ArchitectureOptions): tfl.LayersModel {
  const { input, scaled } = scaledInput(imageSize);
  let x = convBnRelu(scaled, 16, 'stem', l2);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, name: 'stem_pool' }), x);
  x = convBnRelu(x, 32, 'stage1', l2);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, name: 'stage1_pool' }), x);
  x = residualBlock(x, 48, 'stage2', l2);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, name: 'stage2_pool' }), x);
  x = residualBlock(x, 64, 'stage3', l2);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, name: 'stage3_pool' }), x);
  x = residualBlock(x, 96, 'stage4', l2);
  x = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
  x = apply(tfl.layers.dropout({ rate: dropout, name: 'dropout' }), x);
  const output = apply(tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'probability' }), x);
  return tfl.model({ inputs: input, outputs: output, name: 'pneumoscope-default' });
}

export const ARCHITECTURES: Record<string, Architecture> = {
  default: {
    description: 'small residual CNN with batch norm and global average pooling (Pneumoscope default)',
    // 112 px: ~30% less compute than 128 px, so 8 epochs of the whole training split fit in 30 CPU minutes.
    defaultImageSize: 112,
    input: GREY_0_255_STRETCHED,
    create: defaultCnn,
  },
  'seed-cnn': {
    description: 'baseline in the style of the original Keras project: conv/relu/max-pool stacks, dense head',
    defaultImageSize: 128,
    input: GREY_0_255_STRETCHED,
    create: seedCnn,
  },
  'reference-cnn': {
    description: 'the benchmark reference CNN (same as ../shared/bench/torch_reference_cnn.py)',
    defaultImageSize: 128,
    input: GREY_0_255_STRETCHED,
    create: referenceCnn,
  },
};

/** Looks up an architecture; an unknown name fails with the list of known ones. */
export function getArchitecture(name: string): Architecture {
  const arch = ARCHITECTURES[name];
  if (!arch)
    throw new Error(`unknown architecture "${name}"; known: ${Object.keys(ARCHITECTURES).join(', ')}`);
  return arch;
}

/** The preprocessing metadata.json records for `name` at `imageSize` (default: the architecture's own). */
export function preprocessingFor(name: string, imageSize?: number): PreprocessingConfig {
  const arch = getArchitecture(name);
  return {
    imageSize: imageSize ?? arch.defaultImageSize,
    ...arch.input,
    inputRange: [...arch.input.inputRange],
  };
}

export function createModel(name: string, options: Partial<ArchitectureOptions> = {}): tfl.LayersModel {
  const arch = getArchitecture(name);
  return arch.create({ ...options, imageSize: options.imageSize ?? arch.defaultImageSize });
}
