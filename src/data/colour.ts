/**
 * The one rule for turning colour into grey, and the one measure of how coloured a picture was.
 *
 * Grey = ITU-R BT.601 luma of the stored (gamma-encoded) values: Y = 0.299 R + 0.587 G + 0.114 B. It is the Y
 * of JPEG's YCbCr and of DICOM's YBR_FULL, so a colour JPEG, an RGB PNG and an RGB DICOM of the same picture
 * give the same grey, and a grey picture saved as RGB (R = G = B) keeps its values exactly.
 *
 * Colourfulness is Hasler and Süsstrunk's M (2003): sqrt(σ_rg² + σ_yb²) + 0.3 sqrt(μ_rg² + μ_yb²) with
 * rg = R − G and yb = (R + G)/2 − B, on a 0–255 scale. 0 for a grey picture; about 15 is "slightly
 * colourful", 33 "moderately", above 45 "quite colourful". The input gate reads it: an X-ray has no colour.
 */

/** BT.601 luma weights of R, G and B. */
export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;

/** Luma of one gamma-encoded RGB triple (not rounded). */
export function luma(r: number, g: number, b: number): number {
  return LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b;
}

/** Accumulates the statistics of Hasler and Süsstrunk's colourfulness, one pixel at a time. */
export class ColourfulnessMeter {
  private n = 0;
  private sumRg = 0;
  private sumYb = 0;
  private sumRg2 = 0;
  private sumYb2 = 0;
  /** Multiplies every value, to bring deeper data to the 0–255 scale the measure is defined on. */
  private readonly scale: number;

  constructor(scale = 1) {
    this.scale = scale;
  }

  add(r: number, g: number, b: number): void {
    const rg = (r - g) * this.scale;
    const yb = ((r + g) / 2 - b) * this.scale;
    this.n++;
    this.sumRg += rg;
    this.sumYb += yb;
    this.sumRg2 += rg * rg;
    this.sumYb2 += yb * yb;
  }

  /** M on the 0–255 scale; 0 when no pixel was added. */
  value(): number {
    if (this.n === 0) return 0;
    const mRg = this.sumRg / this.n;
    const mYb = this.sumYb / this.n;
    const vRg = Math.max(0, this.sumRg2 / this.n - mRg * mRg);
    const vYb = Math.max(0, this.sumYb2 / this.n - mYb * mYb);
    return Math.sqrt(vRg + vYb) + 0.3 * Math.sqrt(mRg * mRg + mYb * mYb);
  }
}

/** Interleaved samples with 1 (grey) or 3+ (colour; extra channels ignored) channels per pixel. */
export interface Interleaved {
  data: ArrayLike<number>;
  channels: number;
}

/**
 * Grey values (luma, not rounded) and colourfulness of interleaved samples. `scale` brings the samples to the
 * 0–255 scale for the colourfulness measure only; the grey values keep the samples' own scale.
 */
export function toLuma(
  { data, channels }: Interleaved,
  scale = 1,
): { grey: Float32Array; colourfulness: number } {
  const pixels = Math.floor(data.length / channels);
  const grey = new Float32Array(pixels);
  if (channels < 3) {
    for (let i = 0; i < pixels; i++) grey[i] = data[i * channels];
    return { grey, colourfulness: 0 };
  }
  const meter = new ColourfulnessMeter(scale);
  for (let i = 0, j = 0; i < pixels; i++, j += channels) {
    const r = data[j];
    const g = data[j + 1];
    const b = data[j + 2];
    grey[i] = luma(r, g, b);
    meter.add(r, g, b);
  }
  return { grey, colourfulness: meter.value() };
}

/** Rounds values already on the 0–255 scale to bytes. */
export function toBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(values[i])));
  return out;
}
