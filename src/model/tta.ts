/**
 * Test-time augmentation (`--tta`): a `ScoringModel` that scores a few fixed views of every batch — the image as
 * it is, a mild zoom-in and a mild zoom-out — and averages the model's raw outputs in logit space. Calibration and
 * the threshold apply afterwards exactly as for one view (src/model/infer.ts), and an ensemble, being one model,
 * is wrapped the same way. It costs one forward pass per view (3× the scoring time).
 *
 * The views are the training augmentation's own warp (src/data/augment.ts: bilinear sampling about the image
 * centre, the border pixels repeated outside the source, 'edge' fill), with no randomness, so every run scores the
 * same numbers. A zoom about the centre is separable, so a view is two small matrix products, R · X · Rᵀ, with the
 * S × S interpolation matrix R: ops every TF.js backend has (wasm included).
 *
 * Feature outputs after the probability (the penultimate features the input gate reads) come from the identity
 * view only, so the gate judges exactly what it judges without TTA. Grad-CAM is not routed through here: heatmaps
 * explain the identity view.
 *
 * Browser-safe (TF.js core only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ScoringModel } from './infer.ts';

/** One view: a zoom about the image centre (> 1 zooms in, the chest fills more of the frame; 1 = the image). */
export interface TtaView {
  name: string;
  zoom: number;
}

/**
 * Zoom by 1.1 in and out (log-symmetric): the edge of the mild training augmentation's zoom range [0.9, 1.1] and
 * well inside the strong one's [0.8, 1.45], so every view looks like an image the model was trained on.
 */
export const TTA_ZOOM = 1.1;

/** The default views: the image, a zoom-in and a zoom-out. */
export const TTA_VIEWS: readonly TtaView[] = [
  { name: 'identity', zoom: 1 },
  { name: 'zoom-in', zoom: TTA_ZOOM },
  { name: 'zoom-out', zoom: 1 / TTA_ZOOM },
];

/** What a scorer with TTA did, for reports and metrics.json. */
export interface TtaDescription {
  views: TtaView[];
  /** How the views' raw outputs were combined. */
  combine: 'mean-logit';
}

export function describeTta(views: readonly TtaView[] = TTA_VIEWS): TtaDescription {
  return { views: views.map((v) => ({ ...v })), combine: 'mean-logit' };
}

/** One line for people: "mean logit of 3 views (identity, zoom-in ×1.1, zoom-out ×0.909)". */
export function formatTta(description: TtaDescription): string {
  const views = description.views.map((v) =>
    v.zoom === 1 ? v.name : `${v.name} ×${Number(v.zoom.toFixed(3))}`,
  );
  return `mean logit of ${views.length} views (${views.join(', ')})`;
}

/** Raw outputs are clipped to [1e-7, 1 − 1e-7] before the logit, as calibration clips them. */
const EPS = 1e-7;

/**
 * The S × S bilinear interpolation matrix of a zoom about the centre: row i holds the weights of the source
 * pixels that output pixel i samples, source position c + (i − c) / zoom (c the centre), clamped to the image
 * as the training warp clamps it (edge fill).
 */
export function zoomMatrix(size: number, zoom: number): Float32Array {
  if (!(zoom > 0) || !Number.isFinite(zoom)) throw new RangeError(`TTA zoom must be > 0, got ${zoom}`);
  const matrix = new Float32Array(size * size);
  const centre = (size - 1) / 2;
  const last = size - 1;
  for (let i = 0; i < size; i++) {
    const source = Math.max(0, Math.min(centre + (i - centre) / zoom, last));
    const i0 = Math.floor(source);
    const i1 = i0 < last ? i0 + 1 : last;
    const f = source - i0;
    matrix[i * size + i0] += 1 - f;
    matrix[i * size + i1] += f;
  }
  return matrix;
}

const matrices = new Map<string, Float32Array>();

function cachedZoomMatrix(size: number, zoom: number): Float32Array {
  const key = `${size}:${zoom}`;
  let matrix = matrices.get(key);
  if (!matrix) {
    matrix = zoomMatrix(size, zoom);
    matrices.set(key, matrix);
  }
  return matrix;
}

/** A zoomed copy of a [n, S, S, 1] batch (the input is left as it is; zoom 1 returns a clone). */
export function zoomView(batch: tf.Tensor4D, zoom: number): tf.Tensor4D {
  const [n, height, width, channels] = batch.shape;
  if (height !== width || channels !== 1) {
    throw new Error(`TTA needs square grey batches [n, S, S, 1], got [${batch.shape.join(', ')}]`);
  }
  if (zoom === 1) return tf.clone(batch);
  const size = height;
  return tf.tidy(() => {
    const r = tf.tensor2d(cachedZoomMatrix(size, zoom), [size, size]);
    // Along x: every row times Rᵀ. Then along y: the same on the transposed images.
    const rows = tf.matMul(tf.reshape(batch, [n * size, size]), r, false, true);
    const flipped = tf.reshape(tf.transpose(tf.reshape(rows, [n, size, size]), [0, 2, 1]), [n * size, size]);
    const both = tf.matMul(flipped, r, false, true);
    return tf.reshape(tf.transpose(tf.reshape(both, [n, size, size]), [0, 2, 1]), [n, size, size, 1]);
  });
}

function asList(outputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(outputs) ? outputs : [outputs];
}

/**
 * Wraps a scoring model so that each prediction is the mean, in logit space, of its raw outputs on `views`; the
 * result is again a raw output (a probability) in the model's own shape. Further outputs (features) are the
 * identity view's. `views` must include the identity (zoom 1); with the identity alone the model is returned
 * as it is.
 */
export function withTta(model: ScoringModel, views: readonly TtaView[] = TTA_VIEWS): ScoringModel {
  const identity = views.findIndex((v) => v.zoom === 1);
  if (identity < 0) {
    throw new Error('TTA views must include the identity (zoom 1): the input gate reads its features');
  }
  for (const view of views) zoomMatrix(1, view.zoom); // validates every zoom up front
  if (views.length === 1) return model;
  return {
    predict(batch: tf.Tensor4D): tf.Tensor[] {
      return tf.tidy(() => {
        let logitSum: tf.Tensor | null = null;
        let extras: tf.Tensor[] = [];
        let shape: number[] = [];
        for (const [k, view] of views.entries()) {
          const outputs = asList(model.predict(k === identity ? batch : zoomView(batch, view.zoom)));
          const p = tf.clipByValue(outputs[0], EPS, 1 - EPS);
          const logit = tf.sub(tf.log(p), tf.log1p(tf.neg(p)));
          logitSum = logitSum ? tf.add(logitSum, logit) : logit;
          if (k === identity) {
            shape = outputs[0].shape;
            extras = outputs.slice(1);
          }
        }
        const mean = tf.div(logitSum!, views.length);
        return [tf.reshape(tf.sigmoid(mean), shape), ...extras];
      });
    },
  };
}
