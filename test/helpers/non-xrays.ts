/**
 * Pictures that are not chest X-rays, made on the spot (no downloads): stand-ins for the kinds of picture a user
 * drops on a triage tool by mistake — colour photos, textures (gravel, grass, fur), coins, a page of text, a
 * retina, a stained microscope slide, a CT phantom, the moon, gradients, noise, blank images — plus altered
 * X-rays. They are synthetic: flatter and more regular than real photographs, so a gate that refuses them
 * has not thereby been shown to refuse every real photo (docs/input-gate.md says what was measured on what).
 *
 * Used by the gate's tests and by scripts/gate-negatives.ts, which writes them to a folder for `cxr predict`.
 */
import sharp from 'sharp';
import { seededRandom } from '../../src/core/random.ts';

export interface MadePicture {
  name: string;
  /** The encoded file (PNG or JPEG). */
  bytes: Uint8Array;
  /** What the gate should do with it, and why. */
  expect: 'reject' | 'pass';
  why: string;
}

type Rgb = [number, number, number];

/** Smooth multi-octave value noise in [0, 1], w × h, from a seeded generator. */
function valueNoise(w: number, h: number, seed: number, octaves = 5, base = 8): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(w * h);
  let amplitude = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const cells = base * 2 ** o;
    const grid = Float32Array.from({ length: (cells + 1) * (cells + 1) }, () => random());
    for (let y = 0; y < h; y++) {
      const gy = (y / h) * cells;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const sy = fy * fy * (3 - 2 * fy);
      for (let x = 0; x < w; x++) {
        const gx = (x / w) * cells;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const sx = fx * fx * (3 - 2 * fx);
        const at = (i: number, j: number) => grid[j * (cells + 1) + i];
        const top = at(x0, y0) * (1 - sx) + at(x0 + 1, y0) * sx;
        const bottom = at(x0, y0 + 1) * (1 - sx) + at(x0 + 1, y0 + 1) * sx;
        out[y * w + x] += amplitude * (top * (1 - sy) + bottom * sy);
      }
    }
    total += amplitude;
    amplitude /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Encodes a sharp image as PNG or JPEG (quality 90). */
async function encode(image: ReturnType<typeof sharp>, format: 'png' | 'jpeg'): Promise<Uint8Array> {
  return new Uint8Array(
    format === 'png' ? await image.png().toBuffer() : await image.jpeg({ quality: 90 }).toBuffer(),
  );
}

/** An image with `channels` samples per pixel from a per-pixel function. */
async function madeImage(
  w: number,
  h: number,
  channels: 1 | 3,
  pixel: (x: number, y: number, i: number) => number[],
  format: 'png' | 'jpeg',
): Promise<Uint8Array> {
  const data = Buffer.alloc(w * h * channels);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const values = pixel(x, y, i);
      for (let c = 0; c < channels; c++) data[channels * i + c] = clamp(values[c]);
    }
  }
  return encode(sharp(data, { raw: { width: w, height: h, channels } }), format);
}

/** An RGB image from a per-pixel function. */
function rgbImage(
  w: number,
  h: number,
  pixel: (x: number, y: number, i: number) => Rgb,
  format: 'png' | 'jpeg' = 'jpeg',
): Promise<Uint8Array> {
  return madeImage(w, h, 3, pixel, format);
}

/** A grey image from a per-pixel function. */
function greyImage(
  w: number,
  h: number,
  pixel: (x: number, y: number, i: number) => number,
  format: 'png' | 'jpeg' = 'jpeg',
): Promise<Uint8Array> {
  return madeImage(w, h, 1, (x, y, i) => [pixel(x, y, i)], format);
}

function svgImage(svg: string, format: 'png' | 'jpeg' = 'png'): Promise<Uint8Array> {
  return encode(sharp(Buffer.from(svg)), format);
}

/** Seeded Voronoi cells: the nearest of `count` random sites for each pixel, and the distance gap to the next. */
function voronoi(w: number, h: number, count: number, seed: number) {
  const random = seededRandom(seed);
  const sites = Array.from({ length: count }, () => [random() * w, random() * h, random()] as const);
  const cell = new Int32Array(w * h);
  const edge = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let best = Number.POSITIVE_INFINITY;
      let second = Number.POSITIVE_INFINITY;
      let index = 0;
      for (let s = 0; s < count; s++) {
        const d = Math.hypot(x - sites[s][0], y - sites[s][1]);
        if (d < best) {
          second = best;
          best = d;
          index = s;
        } else if (d < second) second = d;
      }
      cell[y * w + x] = index;
      edge[y * w + x] = second - best;
    }
  }
  return { cell, edge, shade: sites.map((s) => s[2]) };
}

const LOREM =
  'The quick brown fox jumps over the lazy dog while the committee reviews the quarterly report and ' +
  'notes that several items remain open for discussion at the next meeting of the board';

/** A page of text rendered from SVG: black type on white paper. */
function textPage(w: number, h: number, size: number): string {
  const words = LOREM.split(' ');
  const lines: string[] = [];
  const perLine = Math.floor((w - 60) / (size * 0.55));
  let line = '';
  for (let i = 0; lines.length < Math.floor((h - 60) / (size * 1.5)); i++) {
    const word = words[i % words.length];
    if ((line + word).length > perLine) {
      lines.push(line.trim());
      line = '';
    }
    line += `${word} `;
  }
  const text = lines
    .map(
      (l, i) => `<text x="30" y="${40 + i * size * 1.5}" font-size="${size}" font-family="serif">${l}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="#f8f6f0"/>${text}</svg>`;
}

/** The Shepp-Logan phantom (the classic CT test image): grey ellipses on black. */
function sheppLogan(size: number): (x: number, y: number) => number {
  // [intensity, a, b, x0, y0, phi in degrees] (the "modified" version with visible contrast).
  const ellipses = [
    [1, 0.69, 0.92, 0, 0, 0],
    [-0.8, 0.6624, 0.874, 0, -0.0184, 0],
    [-0.2, 0.11, 0.31, 0.22, 0, -18],
    [-0.2, 0.16, 0.41, -0.22, 0, 18],
    [0.1, 0.21, 0.25, 0, 0.35, 0],
    [0.1, 0.046, 0.046, 0, 0.1, 0],
    [0.1, 0.046, 0.046, 0, -0.1, 0],
    [0.1, 0.046, 0.023, -0.08, -0.605, 0],
    [0.1, 0.023, 0.023, 0, -0.606, 0],
    [0.1, 0.023, 0.046, 0.06, -0.605, 0],
  ];
  return (px, py) => {
    const x = (2 * px) / size - 1;
    const y = 1 - (2 * py) / size;
    let v = 0;
    for (const [a, ea, eb, x0, y0, phi] of ellipses) {
      const t = (phi * Math.PI) / 180;
      const dx = x - x0;
      const dy = y - y0;
      const u = dx * Math.cos(t) + dy * Math.sin(t);
      const w = -dx * Math.sin(t) + dy * Math.cos(t);
      if ((u * u) / (ea * ea) + (w * w) / (eb * eb) <= 1) v += a;
    }
    return v * 255;
  };
}

/** Every made picture that is not a chest X-ray (all should be rejected). */
export async function makeNonXrays(): Promise<MadePicture[]> {
  // Small enough to make quickly in a test; larger than the gate's minimum size and the model's input.
  const W = 320;
  const H = 240;
  const out: MadePicture[] = [];
  const add = (name: string, bytes: Uint8Array, why: string) =>
    out.push({ name, bytes, expect: 'reject', why });

  const fur = valueNoise(W, H, 1, 6, 16);
  const streak = valueNoise(W, H, 2, 3, 4);
  add(
    'cat-fur.jpeg',
    await rgbImage(W, H, (x, y, i) => {
      const v = 0.5 + 0.8 * (fur[i] - 0.5) + 0.3 * Math.sin((x + 40 * streak[i]) / 6);
      const face = Math.hypot(x - W / 2, y - H / 2) < H / 3 ? 1.15 : 0.85;
      return [220 * v * face, 140 * v * face, 70 * v * face];
    }),
    'colour photograph (orange fur)',
  );
  add(
    'rocket-sky.jpeg',
    await rgbImage(W, H, (x, y) => {
      const top = H * 0.25;
      const base = H * 0.85;
      const body = Math.abs(x - W / 2) < 12 && y > top && y < base;
      const nose = y <= top && y > top - 30 && Math.abs(x - W / 2) < (12 * (y - top + 30)) / 30;
      const plume = y >= base && Math.abs(x - W / 2) < 8 + (y - base) * 0.8;
      if (body || nose) return [235, 235, 240];
      if (plume) return [255, 190 - (y - base) * 2, 60];
      return [90 + (y / H) * 60, 150 + (y / H) * 60, 235];
    }),
    'colour photograph (blue sky)',
  );
  const coinNoise = valueNoise(W, H, 3, 5, 32);
  const coins = [
    [70, 70, 44],
    [190, 75, 50],
    [105, 175, 47],
    [245, 175, 41],
  ];
  add(
    'coins.jpeg',
    await greyImage(W, H, (x, y, i) => {
      for (const [cx, cy, r] of coins) {
        const d = Math.hypot(x - cx, y - cy);
        if (d < r) return d > r - 6 ? 230 : 150 + 80 * coinNoise[i] + 30 * Math.cos(d / 5);
      }
      return 60 + 20 * coinNoise[i];
    }),
    'grey photograph (coins on a table)',
  );
  const stones = voronoi(W, H, 90, 4);
  const grit = valueNoise(W, H, 5, 4, 64);
  /** Stones of random shades with dark gaps between them. */
  const gravel = (i: number) =>
    (70 + 120 * stones.shade[stones.cell[i]] + 50 * (grit[i] - 0.5)) * Math.min(1, stones.edge[i] / 4);
  add('gravel.jpeg', await greyImage(W, H, (_x, _y, i) => gravel(i)), 'grey photograph (gravel)');
  add(
    'gravel-colour.jpeg',
    await rgbImage(W, H, (_x, _y, i) => [gravel(i) * 1.1, gravel(i) * 0.95, gravel(i) * 0.8]),
    'photograph (brownish gravel)',
  );
  const blades = valueNoise(W, H, 6, 5, 24);
  add(
    'grass.jpeg',
    await rgbImage(W, H, (x, y, i) => {
      const v = 0.4 + 0.6 * blades[i] + 0.2 * Math.sin(x / 3 + 8 * blades[i]);
      return [60 * v, 170 * v, 40 * v + y * 0.02];
    }),
    'colour photograph (grass)',
  );
  add('text-page.png', await svgImage(textPage(600, 800, 18)), 'grey picture (a page of text)');
  const vessels = valueNoise(W, W, 7, 5, 8);
  add(
    'retina.jpeg',
    await rgbImage(W, W, (x, y, i) => {
      const d = Math.hypot(x - W / 2, y - W / 2);
      if (d > W * 0.46) return [0, 0, 0];
      const disc = Math.hypot(x - W * 0.65, y - W * 0.5) < W / 12 ? 1.5 : 1;
      const vessel = Math.abs(vessels[i] - 0.5) < 0.015 ? 0.6 : 1;
      const fall = 1 - (d / (W * 0.46)) ** 2 * 0.5;
      return [200 * fall * vessel * disc, 90 * fall * vessel * disc, 40 * fall * disc];
    }),
    'colour photograph (a retina)',
  );
  const cells = voronoi(W, H, 40, 8);
  const stain = valueNoise(W, H, 9, 4, 16);
  add(
    'microscope-slide.jpeg',
    await rgbImage(W, H, (_x, _y, i) => {
      const nucleus = cells.edge[i] > 14 ? 1 : 0;
      const membrane = cells.edge[i] < 2 ? 1 : 0;
      if (nucleus) return [90, 60, 150];
      if (membrane) return [190, 90, 160];
      return [235 - 30 * stain[i], 170 - 40 * stain[i], 210 - 20 * stain[i]];
    }),
    'colour photograph (stained microscope slide)',
  );
  add('ct-phantom.png', await greyImage(W, W, sheppLogan(W), 'png'), 'grey picture (Shepp-Logan CT phantom)');
  const craters = valueNoise(W, W, 10, 6, 8);
  add(
    'moon.jpeg',
    await greyImage(W, W, (x, y, i) => {
      const d = Math.hypot(x - W / 2, y - W / 2);
      return d < W * 0.42 ? 120 + 120 * (craters[i] - 0.5) * 1.6 + 40 * (1 - d / (W * 0.42)) : 5;
    }),
    'grey photograph (the moon on black)',
  );
  add(
    'camera-man.jpeg',
    await greyImage(W, W, (x, y) => {
      const sky = 200 - y * 0.1;
      const ground = y > W * 0.75 ? 110 : sky;
      const figure = Math.abs(x - W * 0.4) < W * 0.09 && y > W * 0.25 ? 25 : ground;
      const head = Math.hypot(x - W * 0.4, y - W * 0.2) < W * 0.07 ? 30 : figure;
      const tripod = Math.abs(x - W * 0.6 - (y - W * 0.45) * 0.2) < 3 && y > W * 0.45 ? 15 : head;
      return tripod;
    }),
    'grey photograph (a figure against the sky)',
  );
  add(
    'stars.jpeg',
    await rgbImage(W, H, (x, y) => {
      const h = Math.sin(x * 12.9898 + y * 78.233) * 43758.5453;
      const star = h - Math.floor(h) > 0.996;
      return star ? [255, 220 + (x % 30), 180 + (y % 70)] : [4, 4, 12];
    }),
    'photograph (stars on black)',
  );
  add(
    'brick-wall.jpeg',
    await rgbImage(W, H, (x, y, i) => {
      const row = Math.floor(y / 20);
      const mortar = y % 20 < 3 || (x + (row % 2) * 25) % 50 < 3;
      const v = 0.8 + 0.4 * (grit[i] - 0.5);
      return mortar ? [200, 200, 195] : [170 * v, 70 * v, 50 * v];
    }),
    'colour photograph (a brick wall)',
  );
  add(
    'colour-wheel.png',
    await rgbImage(
      W,
      W,
      (x, y) => {
        const a = Math.atan2(y - W / 2, x - W / 2);
        return [128 + 127 * Math.cos(a), 128 + 127 * Math.cos(a - 2.09), 128 + 127 * Math.cos(a + 2.09)];
      },
      'png',
    ),
    'colour picture (a colour wheel)',
  );
  add(
    'logo.png',
    await svgImage(
      `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="100%" height="100%" fill="white"/><circle cx="200" cy="170" r="110" fill="#1565c0"/><text x="200" y="350" font-size="48" text-anchor="middle" font-family="sans-serif" fill="#222">LOGO</text></svg>`,
    ),
    'colour picture (a logo)',
  );
  add(
    'horse-silhouette.png',
    await svgImage(
      `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="400"><rect width="100%" height="100%" fill="white"/><ellipse cx="250" cy="200" rx="130" ry="60"/><rect x="150" y="230" width="18" height="120"/><rect x="330" y="230" width="18" height="120"/><path d="M350 180 L420 90 L445 110 L390 200 Z"/></svg>`,
    ),
    'grey picture (a black silhouette on white)',
  );
  add('grey-gradient.png', await greyImage(W, H, (x) => (x / W) * 255, 'png'), 'a smooth grey gradient');
  const noise = seededRandom(11);
  add('white-noise.png', await greyImage(W, H, () => noise() * 255, 'png'), 'uniform random noise');
  add(
    'checkerboard.png',
    await greyImage(W, W, (x, y) => ((Math.floor(x / 20) + Math.floor(y / 20)) % 2 ? 230 : 25), 'png'),
    'a checkerboard test pattern',
  );
  add('all-black.png', await greyImage(800, 800, () => 0, 'png'), 'an all-black image');
  add('all-white.png', await greyImage(640, 480, () => 255, 'png'), 'an all-white image');
  add('one-pixel.png', await greyImage(1, 1, () => 128, 'png'), 'a 1 x 1 image');
  add('wide-strip.png', await greyImage(1600, 200, (x, y) => (x * y) % 256, 'png'), 'a 8:1 strip');
  return out;
}

/**
 * Altered versions of a real chest X-ray (`bytes`), with what the gate should do: a mirror image is still a
 * frontal chest X-ray (it can come from a scanner or viewer that flips) and must pass; a negative (inverted
 * grey levels, e.g. a MONOCHROME1 image read wrongly) is not what the model was trained on and must be refused.
 * Upside-down images are not given an expectation here (docs/input-gate.md reports what the gate does).
 */
export async function makeAlteredXrays(bytes: Uint8Array): Promise<MadePicture[]> {
  const grey = () => sharp(bytes, { ignoreIcc: true }).toColourspace('b-w');
  return [
    {
      name: 'mirrored.png',
      bytes: new Uint8Array(await grey().flop().png().toBuffer()),
      expect: 'pass',
      why: 'a left-right mirrored chest X-ray is still a frontal chest X-ray',
    },
    {
      name: 'inverted.png',
      bytes: new Uint8Array(await grey().negate().png().toBuffer()),
      expect: 'reject',
      why: 'a negative image (bones dark) is not what the model reads',
    },
  ];
}
