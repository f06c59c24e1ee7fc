/**
 * Resizing grey pixels in plain TypeScript, the way the server's decoder (sharp/libvips) does it, so the browser
 * can prepare a model input that matches the server's without libvips: `cxr serve --on-device` scores in the
 * browser with the same model, and its probabilities must agree with the server's.
 *
 * libvips' `resize` (what sharp calls with `fit: 'fill'`) shrinks a large image in two steps: an integer box
 * average ("shrink", leaving at most twice the target), then a Lanczos-3 reduction for the rest. For a JPEG,
 * sharp first asks libjpeg to decode at 1/2, 1/4 or 1/8 of the size (a block average in the DCT domain), which
 * `jpegShrinkFactor` reproduces as a box average over the full-size decode.
 *
 * Browser-safe: no Node built-ins, no sharp.
 */
import type { GrayImage } from '../core/types.ts';
import { toBytes } from './colour.ts';

/**
 * The factor by which sharp has libjpeg shrink a JPEG while decoding it for a `width` x `height` → `target` x
 * `target` stretch (sharp's pipeline: the common shrink of both axes, 8/4/2, lowered when it is exactly the shrink).
 */
export function jpegShrinkFactor(
  width: number,
  height: number,
  targetWidth: number,
  targetHeight: number,
): number {
  const shrink = Math.min(width / targetWidth, height / targetHeight);
  let factor = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
  // sharp avoids known libjpeg rounding errors when the shrink is exactly the factor.
  if (factor > 1 && Math.trunc(shrink) === factor) factor /= 2;
  return factor;
}

/**
 * Box average over `factorX` x `factorY` blocks. `partial: 'drop'` keeps whole blocks only (libvips crops a
 * JPEG decoded at 1/8 to floor(size / 8) pixels); `'keep'` averages the partial last row and column as well
 * (libvips' shrink rounds up). Values stay in float so no rounding is added before the next step.
 */
export function boxShrink(
  image: { width: number; height: number; data: ArrayLike<number> },
  factorX: number,
  factorY: number = factorX,
  partial: 'drop' | 'keep' = 'keep',
): { width: number; height: number; data: Float32Array } {
  const round = partial === 'drop' ? Math.floor : Math.ceil;
  const width = Math.max(1, round(image.width / factorX));
  const height = Math.max(1, round(image.height / factorY));
  const out = new Float32Array(width * height);
  for (let by = 0; by < height; by++) {
    const y0 = by * factorY;
    const y1 = Math.min(image.height, y0 + factorY);
    for (let bx = 0; bx < width; bx++) {
      const x0 = bx * factorX;
      const x1 = Math.min(image.width, x0 + factorX);
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        const row = y * image.width;
        for (let x = x0; x < x1; x++) sum += image.data[row + x];
      }
      out[by * width + bx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return { width, height, data: out };
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/** Per output pixel: the first input index and normalised Lanczos-3 weights, for one axis. */
function reductionWeights(inSize: number, outSize: number): { start: Int32Array; weights: Float32Array[] } {
  const scale = inSize / outSize;
  const support = 3 * Math.max(1, scale);
  const start = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.floor(centre - support) + 1;
    const last = Math.ceil(centre + support) - 1;
    const w = new Float32Array(last - first + 1);
    let sum = 0;
    for (let i = first; i <= last; i++) {
      const value = lanczos3((i - centre) / Math.max(1, scale));
      w[i - first] = value;
      sum += value;
    }
    for (let i = 0; i < w.length; i++) w[i] /= sum;
    start[o] = first;
    weights.push(w);
  }
  return { start, weights };
}

/** Separable Lanczos-3 resampling to `width` x `height`, edges extended, no rounding. */
export function lanczosResize(
  image: { width: number; height: number; data: ArrayLike<number> },
  width: number,
  height: number,
): Float32Array {
  const h = reductionWeights(image.width, width);
  const v = reductionWeights(image.height, height);
  const clamp = (i: number, size: number) => (i < 0 ? 0 : i >= size ? size - 1 : i);
  // Horizontal pass: image.height rows of `width` values.
  const rows = new Float32Array(width * image.height);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    for (let x = 0; x < width; x++) {
      const w = h.weights[x];
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += w[k] * image.data[row + clamp(h.start[x] + k, image.width)];
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const w = v.weights[y];
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += w[k] * rows[clamp(v.start[y] + k, image.height) * width + x];
      out[y * width + x] = sum;
    }
  }
  return out;
}

/**
 * libvips' resize (sharp's `resize(w, h, {fit: 'fill'})`): an integer box shrink that leaves at least twice the
 * target size (its "gap" of 2), then Lanczos-3 for the remainder. Returns 8-bit pixels.
 */
export function resizeLikeLibvips(
  image: { width: number; height: number; data: ArrayLike<number> },
  width: number,
  height: number,
): Uint8Array {
  const intX = Math.max(1, Math.floor(image.width / width / 2));
  const intY = Math.max(1, Math.floor(image.height / height / 2));
  const shrunk = intX > 1 || intY > 1 ? boxShrink(image, intX, intY) : image;
  if (shrunk.width === width && shrunk.height === height) return toBytes(Float32Array.from(shrunk.data));
  return toBytes(lanczosResize(shrunk, width, height));
}

/**
 * The model input for a full-size decoded image, as the server's decoder makes it: every container goes through
 * the shrink-on-load libjpeg would have done for a JPEG of that size (8-bit, as libjpeg's output), then libvips'
 * resize (src/data/decoders/raster.ts: one resampling for every container).
 */
export function modelInputPixels(image: GrayImage, size: number): Uint8Array {
  return resizeLikeLibvips(shrinkLikeJpeg(image, size, size), size, size);
}

/**
 * The shrink libjpeg would have applied while decoding a JPEG of this size for a `width` x `height` result,
 * done as a box average over whole blocks and rounded to 8 bits as libjpeg's output is; the image unchanged when a
 * JPEG would not have shrunk. The server's decoder gives it to every non-JPEG container, and the browser to every
 * decoded image, so all of them reach the resize alike.
 */
export function shrinkLikeJpeg(image: GrayImage, width: number, height: number): GrayImage {
  const factor = jpegShrinkFactor(image.width, image.height, width, height);
  if (factor <= 1) return image;
  const shrunk = boxShrink(image, factor, factor, 'drop');
  return { width: shrunk.width, height: shrunk.height, data: toBytes(shrunk.data) };
}
