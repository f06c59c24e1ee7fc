/**
 * Reductions over the leading axes of a float32 tensor (axes [0, 1, 2] of NHWC: bias, batch-norm and
 * global-average-pool gradients, batch-norm moments). The stock wasm Sum and Mean first transpose the whole
 * tensor so the reduced axes are innermost, then reduce with a scalar loop. Viewed as [1, rows, cols, C], the
 * same reduction is one XNNPACK average pooling over a rows x cols window: SIMD, one read of the data.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type TensorInfo, util } from '@tensorflow/tfjs-core';
import { heapFloats } from './heap.ts';
import { Intermediates } from './wasm-ops.ts';

/** The number of leading axes reduced, or 0 when the reduction is not a proper leading prefix. */
export function leadingAxesReduced(x: TensorInfo, axis: number | number[]): number {
  if (x.dtype !== 'float32') return 0;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const prefix = axes.length > 0 && axes.every((a, i) => a === i);
  return prefix && axes.length < x.shape.length ? axes.length : 0;
}

/** Mean (times `scale`) over the first `reduced` axes of x. */
export function meanOverLeading(options: {
  backend: BackendWasm;
  x: TensorInfo;
  reduced: number;
  keepDims: boolean;
  scale: number;
}): TensorInfo {
  const { backend, x, reduced, keepDims, scale } = options;
  const kept = x.shape.slice(reduced);
  const channels = util.sizeFromShape(kept);
  const outShape = keepDims ? [...new Array<number>(reduced).fill(1), ...kept] : kept;
  // A 2-D window over the reduced axes (the last reduced axis as its width) pools faster than a 1-wide column.
  const cols = reduced > 1 ? x.shape[reduced - 1] : 1;
  const rows = util.sizeFromShape(x.shape.slice(0, reduced)) / cols;
  const out = backend.makeOutput(outShape, 'float32');
  if (rows * cols === 1) {
    heapFloats(backend, out).set(heapFloats(backend, x));
  } else {
    const scope = new Intermediates(backend);
    try {
      const image = scope.run('Reshape', { x }, { shape: [1, rows, cols, channels] });
      const pooled = scope.run(
        'AvgPool',
        { x: image },
        { filterSize: [rows, cols], strides: [rows, cols], pad: 'valid' },
      );
      heapFloats(backend, out).set(heapFloats(backend, pooled));
    } finally {
      scope.free();
    }
  }
  if (scale !== 1) {
    const values = heapFloats(backend, out);
    for (let c = 0; c < channels; c++) values[c] *= scale;
  }
  return out;
}
