// SIMD kernels that run directly on the TF.js wasm heap (the module imports the backend's memory), for the
// memory-bound steps of training that no XNNPACK operator covers. Build: src/engine/simd/build.sh.
// Every function is a leaf with scalar/vector locals only: nothing touches the shadow stack or static data, so
// the module never writes memory other than the output pointers it is given.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// acc + a * b. With RELAXED (the relaxed-SIMD build), one fused multiply-add where the CPU has one.
#ifdef RELAXED
#define MADD(acc, a, b) __builtin_wasm_relaxed_madd_f32x4((a), (b), (acc))
#else
#define MADD(acc, a, b) wasm_f32x4_add((acc), wasm_f32x4_mul((a), (b)))
#endif

// Max-pool gradient for 2x2 windows with stride 2 and no padding (input H = 2*OH, W = 2*OW), NHWC.
// Each dy value goes to the FIRST maximum of its window in row-major order (TensorFlow's rule; ties are
// common after ReLU), and every dx element is written, so dx needs no zero fill. rows = N * OH.
EXPORT(max_pool_grad_halving)
void max_pool_grad_halving(const float *x, const float *dy, float *dx, int32_t rows, int32_t out_width,
                           int32_t channels) {
  const int32_t in_row = 2 * out_width * channels;
  const int32_t vector_end = channels & ~3;
  for (int32_t r = 0; r < rows; r++) {
    for (int32_t ow = 0; ow < out_width; ow++) {
      const int32_t i00 = 2 * r * in_row + 2 * ow * channels;
      const int32_t i01 = i00 + channels;
      const int32_t i10 = i00 + in_row;
      const int32_t i11 = i10 + channels;
      const float *g = dy + ((int64_t)r * out_width + ow) * channels;
      int32_t c = 0;
      for (; c < vector_end; c += 4) {
        const v128_t a = wasm_v128_load(x + i00 + c);
        const v128_t b = wasm_v128_load(x + i01 + c);
        const v128_t d = wasm_v128_load(x + i10 + c);
        const v128_t e = wasm_v128_load(x + i11 + c);
        const v128_t grad = wasm_v128_load(g + c);
        const v128_t m = wasm_f32x4_max(wasm_f32x4_max(a, b), wasm_f32x4_max(d, e));
        const v128_t at_a = wasm_f32x4_eq(a, m);
        const v128_t at_b = wasm_v128_andnot(wasm_f32x4_eq(b, m), at_a);
        const v128_t taken = wasm_v128_or(at_a, at_b);
        const v128_t at_d = wasm_v128_andnot(wasm_f32x4_eq(d, m), taken);
        const v128_t at_e = wasm_v128_not(wasm_v128_or(taken, at_d));
        wasm_v128_store(dx + i00 + c, wasm_v128_and(grad, at_a));
        wasm_v128_store(dx + i01 + c, wasm_v128_and(grad, at_b));
        wasm_v128_store(dx + i10 + c, wasm_v128_and(grad, at_d));
        wasm_v128_store(dx + i11 + c, wasm_v128_and(grad, at_e));
      }
      for (; c < channels; c++) {
        const float a = x[i00 + c], b = x[i01 + c], d = x[i10 + c], e = x[i11 + c];
        int32_t at = 0;
        float best = a;
        if (b > best) { best = b; at = 1; }
        if (d > best) { best = d; at = 2; }
        if (e > best) at = 3;
        dx[i00 + c] = at == 0 ? g[c] : 0.0f;
        dx[i01 + c] = at == 1 ? g[c] : 0.0f;
        dx[i10 + c] = at == 2 ? g[c] : 0.0f;
        dx[i11 + c] = at == 3 ? g[c] : 0.0f;
      }
    }
  }
}

// x [N, H, W, C] -> channel-major rows of a zero-padded grid: dst[c * plane_stride + n * grid_h * grid_w +
// (h + top) * grid_w + (w + left)] = x[n, h, w, c]. dst must be zeroed beforehand (the padding is not written).
EXPORT(scatter_to_channel_grid)
void scatter_to_channel_grid(const float *x, float *dst, int32_t batch, int32_t height, int32_t width,
                             int32_t channels, int32_t grid_h, int32_t grid_w, int32_t top, int32_t left,
                             int32_t plane_stride) {
  for (int32_t n = 0; n < batch; n++) {
    for (int32_t h = 0; h < height; h++) {
      const float *src = x + ((int64_t)(n * height + h) * width) * channels;
      float *row = dst + (int64_t)n * grid_h * grid_w + (int64_t)(h + top) * grid_w + left;
      for (int32_t w = 0; w < width; w++) {
        for (int32_t c = 0; c < channels; c++) row[(int64_t)c * plane_stride + w] = src[w * channels + c];
      }
    }
  }
}

// One pass of the single-input-channel filter gradient: for the filter row `kh`, taps kw0 .. kw0 + TAPS - 1
// and output channels co0 .. co0 + 15, accumulate x_grid[pixel + kh * grid_w + kw] * dy[pixel, co] over every
// output pixel. TAPS is a literal at each call site, so the 4 * TAPS accumulators stay in registers.
static inline __attribute__((always_inline)) void filter_grad_pass(
    const float *x_grid, const float *dy, float *dw, int32_t batch, int32_t out_h, int32_t out_w,
    int32_t out_c, int32_t grid_h, int32_t grid_w, int32_t stride_h, int32_t stride_w, int32_t filter_w,
    int32_t kh, int32_t kw0, int32_t co0, const int32_t TAPS) {
  v128_t acc[3][4];
  for (int32_t t = 0; t < TAPS; t++)
    for (int32_t j = 0; j < 4; j++) acc[t][j] = wasm_f32x4_splat(0.0f);
  for (int32_t n = 0; n < batch; n++) {
    for (int32_t oh = 0; oh < out_h; oh++) {
      const float *xrow = x_grid + (int64_t)n * grid_h * grid_w + (int64_t)(oh * stride_h + kh) * grid_w + kw0;
      const float *grow = dy + ((int64_t)(n * out_h + oh) * out_w) * out_c + co0;
      for (int32_t ow = 0; ow < out_w; ow++) {
        const float *g = grow + (int64_t)ow * out_c;
        const v128_t g0 = wasm_v128_load(g), g1 = wasm_v128_load(g + 4);
        const v128_t g2 = wasm_v128_load(g + 8), g3 = wasm_v128_load(g + 12);
        const float *xp = xrow + ow * stride_w;
        for (int32_t t = 0; t < TAPS; t++) {
          const v128_t xv = wasm_v128_load32_splat(xp + t);
          acc[t][0] = MADD(acc[t][0], xv, g0);
          acc[t][1] = MADD(acc[t][1], xv, g1);
          acc[t][2] = MADD(acc[t][2], xv, g2);
          acc[t][3] = MADD(acc[t][3], xv, g3);
        }
      }
    }
  }
  for (int32_t t = 0; t < TAPS; t++) {
    float *out = dw + (int64_t)(kh * filter_w + kw0 + t) * out_c + co0;
    for (int32_t j = 0; j < 4; j++) wasm_v128_store(out + 4 * j, acc[t][j]);
  }
}

// Filter gradient of a convolution with ONE input channel (the first layer on grey images), which XNNPACK's
// GEMM handles poorly (a 1-row product per tap). x_grid is the zero-padded input, one grid_h x grid_w plane per
// image (see conv2d-backprop-filter.ts); dy is [N, OH, OW, out_c] with out_c a multiple of 16; dw is
// [filter_h, filter_w, 1, out_c].
EXPORT(filter_grad_single_channel)
void filter_grad_single_channel(const float *x_grid, const float *dy, float *dw, int32_t batch, int32_t out_h,
                                int32_t out_w, int32_t out_c, int32_t grid_h, int32_t grid_w, int32_t stride_h,
                                int32_t stride_w, int32_t filter_h, int32_t filter_w) {
  for (int32_t co0 = 0; co0 < out_c; co0 += 16) {
    for (int32_t kh = 0; kh < filter_h; kh++) {
      int32_t kw0 = 0;
      for (; kw0 + 3 <= filter_w; kw0 += 3)
        filter_grad_pass(x_grid, dy, dw, batch, out_h, out_w, out_c, grid_h, grid_w, stride_h, stride_w, filter_w,
                         kh, kw0, co0, 3);
      for (; kw0 < filter_w; kw0++)
        filter_grad_pass(x_grid, dy, dw, batch, out_h, out_w, out_c, grid_h, grid_w, stride_h, stride_w, filter_w,
                         kh, kw0, co0, 1);
    }
  }
}

// Filter gradient for in_c a multiple of 4 and out_c a multiple of 8:
//   dw[kh, kw, ci, co] = sum over output pixels p of x_grid[ci][q(p) + kh * grid_w + kw] * dy[p, co]
// with x_grid channel-major (plane_stride floats per channel, see conv2d-backprop-filter.ts) and q(p) the grid
// position of output pixel p. It is a GEMM with a very long reduction (every output pixel), which XNNPACK runs
// with poor cache reuse and a full repack of dy per call. Here the pixels are taken in chunks of `chunk_rows`
// output rows, small enough that the chunk of dy stays in cache while every (tap, 4 input channels,
// 8 output channels) block of dw accumulates over it in 8 vector registers.
EXPORT(filter_grad)
void filter_grad(const float *x_grid, const float *dy, float *dw, int32_t batch, int32_t out_h, int32_t out_w,
                 int32_t in_c, int32_t out_c, int32_t grid_h, int32_t grid_w, int32_t plane_stride, int32_t stride_h,
                 int32_t stride_w, int32_t filter_h, int32_t filter_w, int32_t chunk_rows) {
  const int32_t total = filter_h * filter_w * in_c * out_c;
  for (int32_t i = 0; i < total; i += 4) wasm_v128_store(dw + i, wasm_f32x4_splat(0.0f));
  const int32_t rows = batch * out_h;
  for (int32_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int32_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
    for (int32_t kh = 0; kh < filter_h; kh++) {
      for (int32_t kw = 0; kw < filter_w; kw++) {
        for (int32_t ci0 = 0; ci0 < in_c; ci0 += 4) {
          for (int32_t co0 = 0; co0 < out_c; co0 += 8) {
            v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
            v128_t a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int32_t r = r0; r < r1; r++) {
              const int32_t n = r / out_h;
              const int32_t oh = r - n * out_h;
              const float *x0 = x_grid + (int64_t)ci0 * plane_stride + (int64_t)n * grid_h * grid_w +
                                (int64_t)(oh * stride_h + kh) * grid_w + kw;
              const float *x1 = x0 + plane_stride;
              const float *x2 = x1 + plane_stride;
              const float *x3 = x2 + plane_stride;
              const float *g = dy + (int64_t)r * out_w * out_c + co0;
              for (int32_t ow = 0; ow < out_w; ow++, g += out_c) {
                const v128_t g0 = wasm_v128_load(g);
                const v128_t g1 = wasm_v128_load(g + 4);
                const int32_t o = ow * stride_w;
                const v128_t v0 = wasm_v128_load32_splat(x0 + o);
                const v128_t v1 = wasm_v128_load32_splat(x1 + o);
                const v128_t v2 = wasm_v128_load32_splat(x2 + o);
                const v128_t v3 = wasm_v128_load32_splat(x3 + o);
                a00 = MADD(a00, v0, g0);
                a01 = MADD(a01, v0, g1);
                a10 = MADD(a10, v1, g0);
                a11 = MADD(a11, v1, g1);
                a20 = MADD(a20, v2, g0);
                a21 = MADD(a21, v2, g1);
                a30 = MADD(a30, v3, g0);
                a31 = MADD(a31, v3, g1);
              }
            }
            float *out = dw + ((int64_t)(kh * filter_w + kw) * in_c + ci0) * out_c + co0;
            wasm_v128_store(out, wasm_f32x4_add(wasm_v128_load(out), a00));
            wasm_v128_store(out + 4, wasm_f32x4_add(wasm_v128_load(out + 4), a01));
            out += out_c;
            wasm_v128_store(out, wasm_f32x4_add(wasm_v128_load(out), a10));
            wasm_v128_store(out + 4, wasm_f32x4_add(wasm_v128_load(out + 4), a11));
            out += out_c;
            wasm_v128_store(out, wasm_f32x4_add(wasm_v128_load(out), a20));
            wasm_v128_store(out + 4, wasm_f32x4_add(wasm_v128_load(out + 4), a21));
            out += out_c;
            wasm_v128_store(out, wasm_f32x4_add(wasm_v128_load(out), a30));
            wasm_v128_store(out + 4, wasm_f32x4_add(wasm_v128_load(out + 4), a31));
          }
        }
      }
    }
  }
}

// ---- Batch normalisation over the rows of an NHWC tensor viewed as [rows, channels] (any channel count). ----
// The kernels are split at the points where data-parallel training adds up per-channel sums across workers
// (../kernels/batch-norm-train.ts): local sums here, the exchange in JavaScript, then the elementwise pass.
// Per-channel sums are accumulated in float32 over blocks of BN_BLOCK rows, then folded into float64, so sums over
// millions of rows stay as accurate as a pairwise sum.
#define BN_BLOCK 64

// block[c] (float32, channels) and total[c] (float64): adds block into total and clears block.
static void fold_block(float *block, double *total, int32_t channels) {
  for (int32_t c = 0; c < channels; c++) {
    total[c] += block[c];
    block[c] = 0.0f;
  }
}

// total[c] = sum over rows of (x[r, c] - shift[c]), or of its square when `squared`. `block` is float32 scratch
// of `channels` values. Called with shift = 0 for the mean, then with the mean for the (two-pass) variance.
EXPORT(bn_channel_sums)
void bn_channel_sums(const float *x, const float *shift, int32_t squared, int32_t rows, int32_t channels,
                     float *block, double *total) {
  const int32_t vector_end = channels & ~3;
  for (int32_t c = 0; c < channels; c++) {
    block[c] = 0.0f;
    total[c] = 0.0;
  }
  for (int32_t r = 0; r < rows; r++) {
    const float *row = x + (int64_t)r * channels;
    int32_t c = 0;
    for (; c < vector_end; c += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(row + c), wasm_v128_load(shift + c));
      if (squared) d = wasm_f32x4_mul(d, d);
      wasm_v128_store(block + c, wasm_f32x4_add(wasm_v128_load(block + c), d));
    }
    for (; c < channels; c++) {
      const float d = row[c] - shift[c];
      block[c] += squared ? d * d : d;
    }
    if ((r + 1) % BN_BLOCK == 0) fold_block(block, total, channels);
  }
  fold_block(block, total, channels);
}

// y = (x - mean) * scale + beta per channel (scale = gamma * rstd).
EXPORT(bn_normalize)
void bn_normalize(const float *x, const float *mean, const float *scale, const float *beta, float *y,
                  int32_t rows, int32_t channels) {
  const int32_t vector_end = channels & ~3;
  for (int32_t r = 0; r < rows; r++) {
    const float *in = x + (int64_t)r * channels;
    float *out = y + (int64_t)r * channels;
    int32_t c = 0;
    for (; c < vector_end; c += 4) {
      const v128_t centred = wasm_f32x4_sub(wasm_v128_load(in + c), wasm_v128_load(mean + c));
      wasm_v128_store(out + c, wasm_f32x4_add(wasm_f32x4_mul(centred, wasm_v128_load(scale + c)),
                                              wasm_v128_load(beta + c)));
    }
    for (; c < channels; c++) out[c] = (in[c] - mean[c]) * scale[c] + beta[c];
  }
}

// The sums the backward pass needs: sums[c] = sum dy, sums[channels + c] = sum dy * (x - mean). `block` is
// float32 scratch of 2 * channels values.
EXPORT(bn_grad_sums)
void bn_grad_sums(const float *dy, const float *x, const float *mean, int32_t rows, int32_t channels, float *block,
                  double *sums) {
  const int32_t vector_end = channels & ~3;
  float *block_dy = block;
  float *block_dyc = block + channels;
  double *sum_dy = sums;
  double *sum_dyc = sums + channels;
  for (int32_t c = 0; c < channels; c++) {
    sum_dy[c] = 0.0;
    sum_dyc[c] = 0.0;
    block_dy[c] = 0.0f;
    block_dyc[c] = 0.0f;
  }
  for (int32_t r = 0; r < rows; r++) {
    const float *g = dy + (int64_t)r * channels;
    const float *in = x + (int64_t)r * channels;
    int32_t c = 0;
    for (; c < vector_end; c += 4) {
      const v128_t gv = wasm_v128_load(g + c);
      const v128_t centred = wasm_f32x4_sub(wasm_v128_load(in + c), wasm_v128_load(mean + c));
      wasm_v128_store(block_dy + c, wasm_f32x4_add(wasm_v128_load(block_dy + c), gv));
      wasm_v128_store(block_dyc + c, wasm_f32x4_add(wasm_v128_load(block_dyc + c), wasm_f32x4_mul(gv, centred)));
    }
    for (; c < channels; c++) {
      block_dy[c] += g[c];
      block_dyc[c] += g[c] * (in[c] - mean[c]);
    }
    if ((r + 1) % BN_BLOCK == 0 || r + 1 == rows) {
      fold_block(block_dy, sum_dy, channels);
      fold_block(block_dyc, sum_dyc, channels);
    }
  }
}

// dx = a * dy - b * (x - mean) - shift per channel: the batch-norm input gradient once a, b and shift are known
// from the (global) sums of bn_grad_sums (see batch-norm-train.ts).
EXPORT(bn_grad_apply)
void bn_grad_apply(const float *dy, const float *x, const float *mean, const float *a, const float *b,
                   const float *shift, float *dx, int32_t rows, int32_t channels) {
  const int32_t vector_end = channels & ~3;
  for (int32_t r = 0; r < rows; r++) {
    const float *g = dy + (int64_t)r * channels;
    const float *in = x + (int64_t)r * channels;
    float *out = dx + (int64_t)r * channels;
    int32_t c = 0;
    for (; c < vector_end; c += 4) {
      const v128_t centred = wasm_f32x4_sub(wasm_v128_load(in + c), wasm_v128_load(mean + c));
      v128_t v = wasm_f32x4_mul(wasm_v128_load(a + c), wasm_v128_load(g + c));
      v = wasm_f32x4_sub(v, wasm_f32x4_mul(wasm_v128_load(b + c), centred));
      wasm_v128_store(out + c, wasm_f32x4_sub(v, wasm_v128_load(shift + c)));
    }
    for (; c < channels; c++) out[c] = a[c] * g[c] - b[c] * (in[c] - mean[c]) - shift[c];
  }
}

// ReLU gradient: dx = dy where x > 0, else 0 (x is the ReLU's input), in one pass instead of TF.js's
// step(x) -> cast -> multiply.
EXPORT(relu_backward)
void relu_backward(const float *dy, const float *x, float *dx, int32_t size) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  int32_t i = 0;
  for (; i + 4 <= size; i += 4) {
    const v128_t positive = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), positive));
  }
  for (; i < size; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

// out[r, c] = x[r, c] + bias[c] over [rows, channels], channels % 4 == 0: a convolution's bias in training,
// where TF.js adds it as a separate broadcasting op.
EXPORT(add_channel_bias)
void add_channel_bias(const float *x, const float *bias, float *out, int32_t rows, int32_t channels) {
  for (int32_t r = 0; r < rows; r++) {
    const float *in = x + (int64_t)r * channels;
    float *o = out + (int64_t)r * channels;
    for (int32_t c = 0; c < channels; c += 4)
      wasm_v128_store(o + c, wasm_f32x4_add(wasm_v128_load(in + c), wasm_v128_load(bias + c)));
  }
}

// Input gradient of a stride-1 convolution with ONE input channel (TF.js's fused-conv gradient computes it for
// the first layer even though nothing uses it; XNNPACK runs a 1-output-channel convolution poorly):
//   dx[n, i, j] = sum over kh, kw, co of dy[n, i + pad_top - kh, j + pad_left - kw, co] * w[kh, kw, 0, co]
// for dy positions inside [0, out_h) x [0, out_w); out_c % 4 == 0.
EXPORT(input_grad_single_channel)
void input_grad_single_channel(const float *dy, const float *w, float *dx, int32_t batch, int32_t in_h,
                               int32_t in_w, int32_t out_h, int32_t out_w, int32_t out_c, int32_t filter_h,
                               int32_t filter_w, int32_t pad_top, int32_t pad_left) {
  for (int32_t n = 0; n < batch; n++) {
    for (int32_t i = 0; i < in_h; i++) {
      for (int32_t j = 0; j < in_w; j++) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int32_t kh = 0; kh < filter_h; kh++) {
          const int32_t oi = i + pad_top - kh;
          if (oi < 0 || oi >= out_h) continue;
          for (int32_t kw = 0; kw < filter_w; kw++) {
            const int32_t oj = j + pad_left - kw;
            if (oj < 0 || oj >= out_w) continue;
            const float *g = dy + ((int64_t)(n * out_h + oi) * out_w + oj) * out_c;
            const float *f = w + (int64_t)(kh * filter_w + kw) * out_c;
            for (int32_t c = 0; c < out_c; c += 4)
              acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(g + c), wasm_v128_load(f + c)));
          }
        }
        dx[((int64_t)(n * in_h + i)) * in_w + j] = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
                                                    wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
      }
    }
  }
}

// ---- Direct convolution and its input gradient, NHWC (see kernels/conv2d.ts). ----
// Both are correlations of an input with a packed filter, computed in register blocks of PIX output pixels x 8
// output channels: per reduction step, one broadcast load of an input value and two filter vectors feed
// 2 * PIX multiply-adds. The filter is packed with its output channels padded to a multiple of 8 (zeros), so
// every block runs the same code; the last block stores only the real channels.

// Stores the first `count` (0..4) lanes of v.
static inline void store_lanes(float *out, v128_t v, int32_t count) {
  if (count >= 4) {
    wasm_v128_store(out, v);
    return;
  }
  if (count > 0) out[0] = wasm_f32x4_extract_lane(v, 0);
  if (count > 1) out[1] = wasm_f32x4_extract_lane(v, 1);
  if (count > 2) out[2] = wasm_f32x4_extract_lane(v, 2);
}

// One block: y[p, 0..channels) (+ bias) for p < PIX, where
//   y[p, c] = sum over th < taps_h, tw < taps_w, r < reduce of
//             x[p * x_pixel + th * x_tap_h + tw * x_tap_w + r] * w[th * w_tap_h + tw * w_tap_w + r * w_row + c].
static inline __attribute__((always_inline)) void correlate_block(
    const float *x, int32_t x_pixel, int32_t x_tap_h, int32_t x_tap_w, const float *w, int32_t w_tap_h,
    int32_t w_tap_w, int32_t w_row, int32_t reduce, int32_t taps_h, int32_t taps_w, const float *bias, float *y,
    int32_t y_pixel, int32_t channels, int32_t relu, const int32_t PIX) {
  v128_t acc[4][2];
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t b0 = bias ? wasm_v128_load(bias) : zero;
  const v128_t b1 = bias ? wasm_v128_load(bias + 4) : zero;
  for (int32_t p = 0; p < PIX; p++) {
    acc[p][0] = b0;
    acc[p][1] = b1;
  }
  for (int32_t th = 0; th < taps_h; th++) {
    for (int32_t tw = 0; tw < taps_w; tw++) {
      const float *xr = x + th * x_tap_h + tw * x_tap_w;
      const float *wr = w + th * w_tap_h + tw * w_tap_w;
      for (int32_t r = 0; r < reduce; r++, wr += w_row) {
        const v128_t w0 = wasm_v128_load(wr);
        const v128_t w1 = wasm_v128_load(wr + 4);
        for (int32_t p = 0; p < PIX; p++) {
          const v128_t xv = wasm_v128_load32_splat(xr + p * x_pixel + r);
          acc[p][0] = MADD(acc[p][0], xv, w0);
          acc[p][1] = MADD(acc[p][1], xv, w1);
        }
      }
    }
  }
  for (int32_t p = 0; p < PIX; p++) {
    v128_t a0 = acc[p][0], a1 = acc[p][1];
    if (relu) {
      a0 = wasm_f32x4_max(a0, zero);
      a1 = wasm_f32x4_max(a1, zero);
    }
    float *out = y + p * y_pixel;
    if (channels >= 8) {
      wasm_v128_store(out, a0);
      wasm_v128_store(out + 4, a1);
    } else {
      store_lanes(out, a0, channels);
      store_lanes(out + 4, a1, channels - 4);
    }
  }
}

static inline int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }
// floor(a / b) for b > 0.
static inline int32_t floor_div(int32_t a, int32_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Forward convolution: y[n, oh, ow, co] = sum over kh, kw, ci of x[n, oh*sh - pad_top + kh, ow*sw - pad_left + kw, ci]
// * w[kh, kw, ci, co] (zero outside the input) (+ bias[co]), then max(., 0) if relu. w8 is the filter packed to
// [kh, kw, ci, out_c8] (pack_filter), bias8 null or out_c8 values. Blocks of 4 pixels inside the input, single
// pixels (with clipped taps) along the borders.
EXPORT(conv2d_forward)
void conv2d_forward(const float *x, const float *w8, const float *bias8, float *y, int32_t batch, int32_t in_h,
                    int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c, int32_t filter_h,
                    int32_t filter_w, int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                    int32_t relu) {
  const int32_t out_c8 = (out_c + 7) & ~7;
  const int32_t w_tap_w = in_c * out_c8, w_tap_h = filter_w * w_tap_w;
  const int32_t x_tap_w = in_c, x_tap_h = in_w * in_c, x_pixel = stride_w * in_c;
  // Output columns whose whole window lies inside the input.
  const int32_t inner_lo = min32(out_w, max32(0, (pad_left + stride_w - 1) / stride_w));
  const int32_t inner_hi = max32(inner_lo, min32(out_w, floor_div(in_w - filter_w + pad_left, stride_w) + 1));
  for (int32_t n = 0; n < batch; n++) {
    for (int32_t oh = 0; oh < out_h; oh++) {
      const int32_t ih0 = oh * stride_h - pad_top;
      const int32_t kh0 = max32(0, -ih0), kh1 = min32(filter_h, in_h - ih0);
      const float *xrow = x + ((int64_t)n * in_h + ih0 + kh0) * x_tap_h;
      float *yrow = y + ((int64_t)n * out_h + oh) * out_w * out_c;
      const float *wk = w8 + kh0 * w_tap_h;
      for (int32_t co0 = 0; co0 < out_c; co0 += 8) {
        const float *bc = bias8 ? bias8 + co0 : 0;
        const int32_t channels = out_c - co0;
        int32_t ow = 0;
        for (; ow < out_w; ow++) {
          if (ow == inner_lo) {
            for (; ow + 4 <= inner_hi; ow += 4) {
              const int32_t iw0 = ow * stride_w - pad_left;
              correlate_block(xrow + iw0 * in_c, x_pixel, x_tap_h, x_tap_w, wk + co0, w_tap_h, w_tap_w, out_c8,
                              in_c, kh1 - kh0, filter_w, bc, yrow + ow * out_c + co0, out_c, channels, relu, 4);
            }
            if (ow >= out_w) break;
          }
          const int32_t iw0 = ow * stride_w - pad_left;
          const int32_t kw0 = max32(0, -iw0), kw1 = min32(filter_w, in_w - iw0);
          correlate_block(xrow + (iw0 + kw0) * in_c, x_pixel, x_tap_h, x_tap_w, wk + kw0 * w_tap_w + co0, w_tap_h,
                          w_tap_w, out_c8, in_c, kh1 - kh0, kw1 - kw0, bc, yrow + ow * out_c + co0, out_c, channels,
                          relu, 1);
        }
      }
    }
  }
}

// Input gradient of conv2d_forward (a transposed convolution), with no work on the zeros a strided forward
// convolution leaves: dx[n, ih, iw, ci] = sum over the taps (kh, kw) and output pixels (oh, ow) with
// oh*sh - pad_top + kh = ih and ow*sw - pad_left + kw = iw, of dy[n, oh, ow, co] * w[kh, kw, ci, co].
// For a fixed input row, the contributing kh are every sh-th tap (oh falling by one each); for input columns of
// one residue class mod sw, the contributing kw are the same, and consecutive columns of the class read
// consecutive dy pixels: a correlation of dy with the sub-filter of those taps. wt8 is the filter packed to
// [kh, kw, co, in_c8] (pack_filter_transposed).
EXPORT(conv2d_input_grad)
void conv2d_input_grad(const float *dy, const float *wt8, float *dx, int32_t batch, int32_t in_h, int32_t in_w,
                       int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c, int32_t filter_h, int32_t filter_w,
                       int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left) {
  const int32_t in_c8 = (in_c + 7) & ~7;
  const int32_t wt_tap_w = out_c * in_c8;
  // Consecutive contributing taps: kh + sh (dy row - 1), kw + sw (dy column - 1).
  const int32_t w_step_h = stride_h * filter_w * wt_tap_w, w_step_w = stride_w * wt_tap_w;
  const int32_t dy_step_h = -out_w * out_c, dy_step_w = -out_c;
  for (int32_t n = 0; n < batch; n++) {
    for (int32_t ih = 0; ih < in_h; ih++) {
      // Contributing kh: kh = ih + pad_top - oh*sh with 0 <= oh < out_h, 0 <= kh < filter_h.
      const int32_t t = ih + pad_top;
      const int32_t oh_hi = min32(out_h - 1, floor_div(t, stride_h));
      const int32_t oh_lo = max32(0, floor_div(t - filter_h, stride_h) + 1);
      const int32_t taps_h = max32(0, oh_hi - oh_lo + 1);
      const int32_t kh_first = t - oh_hi * stride_h;
      float *dxrow = dx + ((int64_t)n * in_h + ih) * in_w * in_c;
      const float *dyrow = dy + ((int64_t)n * out_h + oh_hi) * out_w * out_c;
      // Columns by residue class mod sw: consecutive columns of a class read consecutive dy pixels.
      for (int32_t first = 0; first < stride_w; first++) {
        for (int32_t iw = first; iw < in_w;) {
          const int32_t u = iw + pad_left;
          const int32_t ow_hi = min32(out_w - 1, floor_div(u, stride_w));
          const int32_t ow_lo = max32(0, floor_div(u - filter_w, stride_w) + 1);
          const int32_t taps_w = max32(0, ow_hi - ow_lo + 1);
          const int32_t kw_first = u - ow_hi * stride_w;
          // A block of 4 columns of the class when all four see the same taps (the span is monotone).
          int32_t pixels = 1;
          if (iw + 3 * stride_w < in_w && taps_w > 0 && taps_h > 0) {
            const int32_t u3 = u + 3 * stride_w;
            const int32_t ow3_hi = min32(out_w - 1, floor_div(u3, stride_w));
            const int32_t ow3_lo = max32(0, floor_div(u3 - filter_w, stride_w) + 1);
            if (ow3_hi == ow_hi + 3 && ow3_hi - ow3_lo == ow_hi - ow_lo) pixels = 4;
          }
          const float *src = dyrow + ow_hi * out_c;
          const float *wk = wt8 + (kh_first * filter_w + kw_first) * wt_tap_w;
          float *out = dxrow + iw * in_c;
          for (int32_t ci0 = 0; ci0 < in_c; ci0 += 8) {
            const int32_t channels = in_c - ci0;
            if (pixels == 4)
              correlate_block(src, out_c, dy_step_h, dy_step_w, wk + ci0, w_step_h, w_step_w, in_c8, out_c, taps_h,
                              taps_w, 0, out + ci0, stride_w * in_c, channels, 0, 4);
            else
              correlate_block(src, out_c, dy_step_h, dy_step_w, wk + ci0, w_step_h, w_step_w, in_c8, out_c, taps_h,
                              taps_w, 0, out + ci0, stride_w * in_c, channels, 0, 1);
          }
          iw += pixels * stride_w;
        }
      }
    }
  }
}

// w [taps, in_c, out_c] -> w8 [taps, in_c, out_c8], zero-padded channels.
EXPORT(pack_filter)
void pack_filter(const float *w, float *w8, int32_t rows, int32_t out_c) {
  const int32_t out_c8 = (out_c + 7) & ~7;
  for (int32_t r = 0; r < rows; r++) {
    for (int32_t c = 0; c < out_c8; c++) w8[(int64_t)r * out_c8 + c] = c < out_c ? w[(int64_t)r * out_c + c] : 0.0f;
  }
}

// w [taps, in_c, out_c] -> wt8 [taps, out_c, in_c8], transposed per tap, zero-padded channels.
EXPORT(pack_filter_transposed)
void pack_filter_transposed(const float *w, float *wt8, int32_t taps, int32_t in_c, int32_t out_c) {
  const int32_t in_c8 = (in_c + 7) & ~7;
  for (int32_t t = 0; t < taps; t++) {
    const float *src = w + (int64_t)t * in_c * out_c;
    float *dst = wt8 + (int64_t)t * out_c * in_c8;
    for (int32_t co = 0; co < out_c; co++) {
      for (int32_t ci = 0; ci < in_c8; ci++) dst[(int64_t)co * in_c8 + ci] = ci < in_c ? src[(int64_t)ci * out_c + co] : 0.0f;
    }
  }
}

// ---- Adam, one pass per variable (see ../adam.ts). ----
// The same float32 operations, in the same order, as tfjs-core's AdamOptimizer (so the same results):
//   m' = m*beta1 + g*(1-beta1);  v' = v*beta2 + g*g*(1-beta2);
//   w' = (m'/(1-beta1^t)) / (sqrt(v'/(1-beta2^t)) + epsilon) * -lr + w
EXPORT(adam_update)
void adam_update(const float *w, const float *m, const float *v, const float *g, float *w_out, float *m_out,
                 float *v_out, int32_t size, float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                 float one_minus_acc_beta1, float one_minus_acc_beta2, float epsilon, float neg_lr) {
  const v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(one_minus_beta1);
  const v128_t b2 = wasm_f32x4_splat(beta2), c2 = wasm_f32x4_splat(one_minus_beta2);
  const v128_t a1 = wasm_f32x4_splat(one_minus_acc_beta1), a2 = wasm_f32x4_splat(one_minus_acc_beta2);
  const v128_t eps = wasm_f32x4_splat(epsilon), rate = wasm_f32x4_splat(neg_lr);
  int32_t i = 0;
  for (; i + 4 <= size; i += 4) {
    const v128_t gv = wasm_v128_load(g + i);
    const v128_t nm = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gv, c1));
    const v128_t nv =
        wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gv, gv), c2));
    const v128_t mh = wasm_f32x4_div(nm, a1);
    const v128_t vh = wasm_f32x4_div(nv, a2);
    const v128_t step = wasm_f32x4_mul(wasm_f32x4_div(mh, wasm_f32x4_add(wasm_f32x4_sqrt(vh), eps)), rate);
    wasm_v128_store(m_out + i, nm);
    wasm_v128_store(v_out + i, nv);
    wasm_v128_store(w_out + i, wasm_f32x4_add(step, wasm_v128_load(w + i)));
  }
  for (; i < size; i++) {
    const float nm = m[i] * beta1 + g[i] * one_minus_beta1;
    const float nv = v[i] * beta2 + (g[i] * g[i]) * one_minus_beta2;
    const float mh = nm / one_minus_acc_beta1;
    const float vh = nv / one_minus_acc_beta2;
    m_out[i] = nm;
    v_out[i] = nv;
    w_out[i] = (mh / (__builtin_sqrtf(vh) + epsilon)) * neg_lr + w[i];
  }
}

// ---- Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 16 multiplies per 2x2 outputs instead of 36. ----
// Y = A^T [ (G g G^T) . (B^T d B) ] A per 4x4 input tile d and output tile Y (2x2), per channel pair:
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
// The products of the 16 tile positions are 16 independent matrix products (tiles x reduce channels) x (reduce x
// out channels), run on correlate_block. Tiles go in blocks small enough that their transforms stay in cache.

// U[xi][r][c] (c padded to out_c8 with zeros) = (G g G^T)[xi] of the 3x3 filter g(kh, kw) of channels (r, c),
// read as g = w[tap * tap_stride + r * r_stride + c * c_stride] with tap = kh*3 + kw, or 8 - (kh*3 + kw) when
// `flip` (the input gradient's filter: rotated 180 degrees, in/out channels swapped by the strides).
EXPORT(winograd_filter)
void winograd_filter(const float *w, float *u, int32_t reduce, int32_t out_c, int32_t tap_stride, int32_t r_stride,
                     int32_t c_stride, int32_t flip) {
  const int32_t out_c8 = (out_c + 7) & ~7;
  for (int32_t r = 0; r < reduce; r++) {
    for (int32_t c = 0; c < out_c8; c++) {
      float g[3][3], t[4][3], v[4][4];
      for (int32_t kh = 0; kh < 3; kh++)
        for (int32_t kw = 0; kw < 3; kw++) {
          const int32_t tap = flip ? 8 - (kh * 3 + kw) : kh * 3 + kw;
          g[kh][kw] = c < out_c ? w[(int64_t)tap * tap_stride + (int64_t)r * r_stride + (int64_t)c * c_stride] : 0.0f;
        }
      for (int32_t j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
      }
      for (int32_t i = 0; i < 4; i++) {
        v[i][0] = t[i][0];
        v[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        v[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        v[i][3] = t[i][2];
      }
      for (int32_t xi = 0; xi < 16; xi++) u[((int64_t)xi * reduce + r) * out_c8 + c] = v[xi >> 2][xi & 3];
    }
  }
}

// Loads 4 channels (or `count` < 4, the rest zero) of input pixel (h, w), zero outside the image.
static inline __attribute__((always_inline)) v128_t load_pixel(const float *x, int32_t h, int32_t w, int32_t in_h, int32_t in_w, int32_t in_c,
                                int32_t count) {
  if (h < 0 || h >= in_h || w < 0 || w >= in_w) return wasm_f32x4_splat(0.0f);
  const float *p = x + ((int64_t)h * in_w + w) * in_c;
  if (count >= 4) return wasm_v128_load(p);
  v128_t v = wasm_f32x4_splat(0.0f);
  if (count > 0) v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (count > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (count > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

// The input transform of a 4x4 tile whose top-left pixel is (h0, w0) of image xn, 4 channels from c on, stored at
// v[xi][t][c..c+3] (v holds `block` tiles of in_c4 channels per position xi): B^T d B, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] for F(2x2, 3x3) (GRADIENT 0), and the last row negated,
//   [0 -1 0 1], for F(3x3, 2x2) (GRADIENT 1).
static inline __attribute__((always_inline)) void winograd_input_tile(const float *xn, int32_t h0, int32_t w0,
                                                                      int32_t in_h, int32_t in_w, int32_t in_c,
                                                                      int32_t c, float *v, int32_t block, int32_t t,
                                                                      int32_t in_c4, const int32_t GRADIENT) {
  v128_t d[4][4], r[4][4];
#pragma clang loop unroll(full)
  for (int32_t i = 0; i < 4; i++)
#pragma clang loop unroll(full)
    for (int32_t j = 0; j < 4; j++) d[i][j] = load_pixel(xn + c, h0 + i, w0 + j, in_h, in_w, in_c, in_c - c);
#pragma clang loop unroll(full)
  for (int32_t j = 0; j < 4; j++) {
    r[0][j] = wasm_f32x4_sub(d[0][j], d[2][j]);
    r[1][j] = wasm_f32x4_add(d[1][j], d[2][j]);
    r[2][j] = wasm_f32x4_sub(d[2][j], d[1][j]);
    r[3][j] = GRADIENT ? wasm_f32x4_sub(d[3][j], d[1][j]) : wasm_f32x4_sub(d[1][j], d[3][j]);
  }
#pragma clang loop unroll(full)
  for (int32_t i = 0; i < 4; i++) {
    v128_t out[4];
    out[0] = wasm_f32x4_sub(r[i][0], r[i][2]);
    out[1] = wasm_f32x4_add(r[i][1], r[i][2]);
    out[2] = wasm_f32x4_sub(r[i][2], r[i][1]);
    out[3] = GRADIENT ? wasm_f32x4_sub(r[i][3], r[i][1]) : wasm_f32x4_sub(r[i][1], r[i][3]);
#pragma clang loop unroll(full)
    for (int32_t j = 0; j < 4; j++) wasm_v128_store(v + ((int64_t)(i * 4 + j) * block + t) * in_c4 + c, out[j]);
  }
}

// y = conv3x3(x, g) (+ bias) (ReLU), stride 1, for x [batch, in_h, in_w, in_c] and y [batch, out_h, out_w, out_c],
// with u from winograd_filter (reduce = in_c); only output tiles [tile_begin, tile_end) of the batch's
// batch * ceil(out_h / 2) * ceil(out_w / 2) (threads split them). Scratch: 16 * block * (in_c4 + out_c8) floats.
EXPORT(winograd_conv)
void winograd_conv(const float *x, const float *u, const float *bias8, float *y, float *scratch, int32_t batch,
                   int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c,
                   int32_t pad_top, int32_t pad_left, int32_t relu, int32_t block, int32_t tile_begin,
                   int32_t tile_end) {
  const int32_t in_c4 = (in_c + 3) & ~3, out_c8 = (out_c + 7) & ~7;
  const int32_t tiles_h = (out_h + 1) / 2, tiles_w = (out_w + 1) / 2;
  const int32_t tiles = min32(tile_end, batch * tiles_h * tiles_w);
  float *v = scratch;                                 // [16][block][in_c4]
  float *m = scratch + (int64_t)16 * block * in_c4;   // [16][block][out_c8]
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int32_t t0 = tile_begin; t0 < tiles; t0 += block) {
    const int32_t count = min32(block, tiles - t0);
    // Input transform of the block's tiles, 4 channels at a time.
    for (int32_t t = 0; t < count; t++) {
      const int32_t tile = t0 + t;
      const int32_t n = tile / (tiles_h * tiles_w), rest = tile - n * tiles_h * tiles_w;
      const int32_t h0 = (rest / tiles_w) * 2 - pad_top, w0 = (rest % tiles_w) * 2 - pad_left;
      const float *xn = x + (int64_t)n * in_h * in_w * in_c;
      for (int32_t c = 0; c < in_c4; c += 4)
        winograd_input_tile(xn, h0, w0, in_h, in_w, in_c, c, v, block, t, in_c4, 0);
    }
    // 16 products: m[xi][t][:] = v[xi][t][:] . u[xi].
    for (int32_t xi = 0; xi < 16; xi++) {
      const float *vx = v + (int64_t)xi * block * in_c4;
      const float *ux = u + (int64_t)xi * in_c * out_c8;
      float *mx = m + (int64_t)xi * block * out_c8;
      for (int32_t co0 = 0; co0 < out_c8; co0 += 8) {
        int32_t t = 0;
        for (; t + 4 <= count; t += 4)
          correlate_block(vx + (int64_t)t * in_c4, in_c4, 0, 0, ux + co0, 0, 0, out_c8, in_c, 1, 1, 0,
                          mx + (int64_t)t * out_c8 + co0, out_c8, 8, 0, 4);
        for (; t < count; t++)
          correlate_block(vx + (int64_t)t * in_c4, in_c4, 0, 0, ux + co0, 0, 0, out_c8, in_c, 1, 1, 0,
                          mx + (int64_t)t * out_c8 + co0, out_c8, 8, 0, 1);
      }
    }
    // Output transform: A^T m A, bias, ReLU, store the tile's (up to) 2x2 pixels.
    for (int32_t t = 0; t < count; t++) {
      const int32_t tile = t0 + t;
      const int32_t n = tile / (tiles_h * tiles_w), rest = tile - n * tiles_h * tiles_w;
      const int32_t oh = (rest / tiles_w) * 2, ow = (rest % tiles_w) * 2;
      const int32_t rows = min32(2, out_h - oh), cols = min32(2, out_w - ow);
      float *yt = y + (((int64_t)n * out_h + oh) * out_w + ow) * out_c;
      for (int32_t c = 0; c < out_c; c += 4) {
        v128_t q[16];
#pragma clang loop unroll(full)
        for (int32_t xi = 0; xi < 16; xi++) q[xi] = wasm_v128_load(m + ((int64_t)xi * block + t) * out_c8 + c);
        // A^T on the rows: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (per column j).
        const v128_t s00 = wasm_f32x4_add(wasm_f32x4_add(q[0], q[4]), q[8]);
        const v128_t s01 = wasm_f32x4_add(wasm_f32x4_add(q[1], q[5]), q[9]);
        const v128_t s02 = wasm_f32x4_add(wasm_f32x4_add(q[2], q[6]), q[10]);
        const v128_t s03 = wasm_f32x4_add(wasm_f32x4_add(q[3], q[7]), q[11]);
        const v128_t s10 = wasm_f32x4_sub(wasm_f32x4_sub(q[4], q[8]), q[12]);
        const v128_t s11 = wasm_f32x4_sub(wasm_f32x4_sub(q[5], q[9]), q[13]);
        const v128_t s12 = wasm_f32x4_sub(wasm_f32x4_sub(q[6], q[10]), q[14]);
        const v128_t s13 = wasm_f32x4_sub(wasm_f32x4_sub(q[7], q[11]), q[15]);
        const v128_t b = bias8 ? wasm_v128_load(bias8 + c) : zero;
        const int32_t lanes = out_c - c;
        // ... and on the columns: y0 = s0 + s1 + s2, y1 = s1 - s2 - s3.
        v128_t y00 = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(s00, s01), s02), b);
        v128_t y01 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_sub(s01, s02), s03), b);
        v128_t y10 = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(s10, s11), s12), b);
        v128_t y11 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_sub(s11, s12), s13), b);
        if (relu) {
          y00 = wasm_f32x4_max(y00, zero);
          y01 = wasm_f32x4_max(y01, zero);
          y10 = wasm_f32x4_max(y10, zero);
          y11 = wasm_f32x4_max(y11, zero);
        }
        float *row = yt + c;
        store_lanes(row, y00, lanes);
        if (cols > 1) store_lanes(row + out_c, y01, lanes);
        if (rows > 1) {
          row += (int64_t)out_w * out_c;
          store_lanes(row, y10, lanes);
          if (cols > 1) store_lanes(row + out_c, y11, lanes);
        }
      }
    }
  }
}

// ---- Winograd F(3x3, 2x2) for the filter gradient of 3x3 stride-1 convolutions. ----
// Over each 2x2 tile D of dy and the 4x4 input patch X under it, the tile's share of dW is the 3x3 correlation
// R = A^T [ (G D G^T) . (B^T X B) ] A with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], G = [1 0; .5 .5; .5 -.5; 0 1], A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1].
// Being linear, the 16 products are summed over all tiles first (16 matrix products with the tiles as their long
// reduction, accumulated in M), and transformed to 3x3 once at the end: 16 multiplies per tile and channel pair
// instead of 36.

// dw[kh, kw, ci, co] (3x3 filter) of a stride-1 convolution of x [batch, in_h, in_w, in_c] giving dy
// [batch, out_h, out_w, out_c]. Scratch: 16 * (in_c4 * out_c8 + block * (in_c4 + out_c8)) floats.
EXPORT(winograd_filter_grad)
void winograd_filter_grad(const float *x, const float *dy, float *dw, float *scratch, int32_t batch, int32_t in_h,
                          int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w, int32_t out_c, int32_t pad_top,
                          int32_t pad_left, int32_t block) {
  const int32_t in_c4 = (in_c + 3) & ~3, out_c8 = (out_c + 7) & ~7;
  const int32_t tiles_h = (out_h + 1) / 2, tiles_w = (out_w + 1) / 2;
  const int32_t tiles = batch * tiles_h * tiles_w;
  float *m = scratch;                                         // [16][in_c4][out_c8], the running sums
  float *v = m + (int64_t)16 * in_c4 * out_c8;                // [16][block][in_c4]
  float *w = v + (int64_t)16 * block * in_c4;                 // [16][block][out_c8]
  const v128_t zero = wasm_f32x4_splat(0.0f), half = wasm_f32x4_splat(0.5f);
  for (int64_t i = 0; i < (int64_t)16 * in_c4 * out_c8; i += 4) wasm_v128_store(m + i, zero);
  for (int32_t t0 = 0; t0 < tiles; t0 += block) {
    const int32_t count = min32(block, tiles - t0);
    for (int32_t t = 0; t < count; t++) {
      const int32_t tile = t0 + t;
      const int32_t n = tile / (tiles_h * tiles_w), rest = tile - n * tiles_h * tiles_w;
      const int32_t oh = (rest / tiles_w) * 2, ow = (rest % tiles_w) * 2;
      // B^T X B of the input patch under the tile.
      const float *xn = x + (int64_t)n * in_h * in_w * in_c;
      for (int32_t c = 0; c < in_c4; c += 4)
        winograd_input_tile(xn, oh - pad_top, ow - pad_left, in_h, in_w, in_c, c, v, block, t, in_c4, 1);
      // G D G^T of the dy tile (zeros beyond the edge).
      const float *dn = dy + (int64_t)n * out_h * out_w * out_c;
      for (int32_t c = 0; c < out_c8; c += 4) {
        const v128_t d00 = load_pixel(dn + c, oh, ow, out_h, out_w, out_c, out_c - c);
        const v128_t d01 = load_pixel(dn + c, oh, ow + 1, out_h, out_w, out_c, out_c - c);
        const v128_t d10 = load_pixel(dn + c, oh + 1, ow, out_h, out_w, out_c, out_c - c);
        const v128_t d11 = load_pixel(dn + c, oh + 1, ow + 1, out_h, out_w, out_c, out_c - c);
        // G on the rows: [d0; (d0 + d1)/2; (d0 - d1)/2; d1], per column.
        const v128_t r00 = d00, r01 = d01;
        const v128_t r10 = wasm_f32x4_mul(wasm_f32x4_add(d00, d10), half);
        const v128_t r11 = wasm_f32x4_mul(wasm_f32x4_add(d01, d11), half);
        const v128_t r20 = wasm_f32x4_mul(wasm_f32x4_sub(d00, d10), half);
        const v128_t r21 = wasm_f32x4_mul(wasm_f32x4_sub(d01, d11), half);
        const v128_t r30 = d10, r31 = d11;
        const v128_t rows[4][2] = {{r00, r01}, {r10, r11}, {r20, r21}, {r30, r31}};
        float *wt = w + (int64_t)t * out_c8 + c;
#pragma clang loop unroll(full)
        for (int32_t i = 0; i < 4; i++) {
          const v128_t a = rows[i][0], b = rows[i][1];
          const int64_t base = (int64_t)(i * 4) * block * out_c8;
          wasm_v128_store(wt + base, a);
          wasm_v128_store(wt + base + (int64_t)block * out_c8, wasm_f32x4_mul(wasm_f32x4_add(a, b), half));
          wasm_v128_store(wt + base + (int64_t)2 * block * out_c8, wasm_f32x4_mul(wasm_f32x4_sub(a, b), half));
          wasm_v128_store(wt + base + (int64_t)3 * block * out_c8, b);
        }
      }
    }
    // m[xi][ci][co] += sum over the block's tiles of v[xi][t][ci] * w[xi][t][co].
    for (int32_t xi = 0; xi < 16; xi++) {
      const float *vx = v + (int64_t)xi * block * in_c4;
      const float *wx = w + (int64_t)xi * block * out_c8;
      float *mx = m + (int64_t)xi * in_c4 * out_c8;
      for (int32_t ci0 = 0; ci0 < in_c4; ci0 += 4) {
        for (int32_t co0 = 0; co0 < out_c8; co0 += 8) {
          float *acc = mx + (int64_t)ci0 * out_c8 + co0;
          v128_t a00 = wasm_v128_load(acc), a01 = wasm_v128_load(acc + 4);
          v128_t a10 = wasm_v128_load(acc + out_c8), a11 = wasm_v128_load(acc + out_c8 + 4);
          v128_t a20 = wasm_v128_load(acc + 2 * out_c8), a21 = wasm_v128_load(acc + 2 * out_c8 + 4);
          v128_t a30 = wasm_v128_load(acc + 3 * out_c8), a31 = wasm_v128_load(acc + 3 * out_c8 + 4);
          const float *vp = vx + ci0;
          const float *wp = wx + co0;
          for (int32_t t = 0; t < count; t++, vp += in_c4, wp += out_c8) {
            const v128_t g0 = wasm_v128_load(wp), g1 = wasm_v128_load(wp + 4);
            const v128_t v0 = wasm_v128_load32_splat(vp), v1 = wasm_v128_load32_splat(vp + 1);
            const v128_t v2 = wasm_v128_load32_splat(vp + 2), v3 = wasm_v128_load32_splat(vp + 3);
            a00 = MADD(a00, v0, g0);
            a01 = MADD(a01, v0, g1);
            a10 = MADD(a10, v1, g0);
            a11 = MADD(a11, v1, g1);
            a20 = MADD(a20, v2, g0);
            a21 = MADD(a21, v2, g1);
            a30 = MADD(a30, v3, g0);
            a31 = MADD(a31, v3, g1);
          }
          wasm_v128_store(acc, a00);
          wasm_v128_store(acc + 4, a01);
          wasm_v128_store(acc + out_c8, a10);
          wasm_v128_store(acc + out_c8 + 4, a11);
          wasm_v128_store(acc + 2 * out_c8, a20);
          wasm_v128_store(acc + 2 * out_c8 + 4, a21);
          wasm_v128_store(acc + 3 * out_c8, a30);
          wasm_v128_store(acc + 3 * out_c8 + 4, a31);
        }
      }
    }
  }
  // dW = A^T m A per (ci, 4 output channels).
  for (int32_t ci = 0; ci < in_c; ci++) {
    for (int32_t c = 0; c < out_c; c += 4) {
      v128_t q[16];
#pragma clang loop unroll(full)
      for (int32_t xi = 0; xi < 16; xi++) q[xi] = wasm_v128_load(m + ((int64_t)xi * in_c4 + ci) * out_c8 + c);
      // A^T on the rows: s0 = q0 + q1 + q2, s1 = q1 - q2, s2 = q1 + q2 + q3 (per column j).
      v128_t s[3][4];
#pragma clang loop unroll(full)
      for (int32_t j = 0; j < 4; j++) {
        const v128_t p12 = wasm_f32x4_add(q[4 + j], q[8 + j]);
        s[0][j] = wasm_f32x4_add(q[j], p12);
        s[1][j] = wasm_f32x4_sub(q[4 + j], q[8 + j]);
        s[2][j] = wasm_f32x4_add(p12, q[12 + j]);
      }
      const int32_t lanes = out_c - c;
#pragma clang loop unroll(full)
      for (int32_t i = 0; i < 3; i++) {
        const v128_t p12 = wasm_f32x4_add(s[i][1], s[i][2]);
        const v128_t k0 = wasm_f32x4_add(s[i][0], p12);
        const v128_t k1 = wasm_f32x4_sub(s[i][1], s[i][2]);
        const v128_t k2 = wasm_f32x4_add(p12, s[i][3]);
        float *out = dw + ((int64_t)(i * 3) * in_c + ci) * out_c + c;
        store_lanes(out, k0, lanes);
        store_lanes(out + (int64_t)in_c * out_c, k1, lanes);
        store_lanes(out + (int64_t)2 * in_c * out_c, k2, lanes);
      }
    }
  }
}
