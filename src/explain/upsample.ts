/**
 * Up-sampling a class-activation map to an image's size, and the transparent heat layer the web app lays over an
 * X-ray. Browser-safe (no sharp): the server's PNG overlay (./overlay.ts) and the browser's viewer both use it.
 */
import { colourFor } from './colormap.ts';
import type { ClassActivationMap } from './gradcam.ts';

/** Bilinear up-sampling with pixel centres aligned (each map cell covers an equal block of the output). */
export function upsampleMap(map: ClassActivationMap, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const scaleX = map.width / width;
  const scaleY = map.height / height;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(map.height - 1, Math.max(0, (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(map.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(map.width - 1, Math.max(0, (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(map.width - 1, x0 + 1);
      const fx = sx - x0;
      const top = map.data[y0 * map.width + x0] * (1 - fx) + map.data[y0 * map.width + x1] * fx;
      const bottom = map.data[y1 * map.width + x0] * (1 - fx) + map.data[y1 * map.width + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Map values below this are not drawn at all: the film shows through untinted. */
export const HEAT_FLOOR = 0.2;

/**
 * How opaque the heat is at a map value in [0, 1]: nothing below HEAT_FLOOR, then rising linearly to `opacity`
 * at the hottest cell. The app's layer and the server's PNG overlay both use it.
 */
export function heatAlpha(value: number, opacity: number): number {
  const v = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  return opacity * Math.max(0, (v - HEAT_FLOOR) / (1 - HEAT_FLOOR));
}

/**
 * The map as an RGBA layer to lay over the X-ray: colour from the heat colour map, alpha rising with the map so
 * the cold end is fully transparent (the film shows through untinted) and only the strongest regions are
 * coloured at `opacity`. Returns width × height × 4 bytes.
 */
export function heatLayer(
  map: ClassActivationMap,
  width: number,
  height: number,
  opacity = 0.7,
): Uint8ClampedArray {
  const heat = upsampleMap(map, width, height);
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < heat.length; i++) {
    const value = Math.max(0, Math.min(1, heat[i]));
    const [r, g, b] = colourFor(value);
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = Math.round(255 * heatAlpha(value, opacity));
  }
  return rgba;
}
