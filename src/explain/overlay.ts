/**
 * Renders a class-activation map over the grey X-ray as an RGB PNG. The map covers the whole model input, which
 * is the whole image stretched to a square, so up-sampling it to the image's own width and height puts every
 * cell back over the region it came from.
 */
import sharp from 'sharp';
import type { GrayImage } from '../core/types.ts';
import { colourFor } from './colormap.ts';
import type { ClassActivationMap } from './gradcam.ts';

export interface OverlayOptions {
  /** The grey image to draw on, at the original aspect ratio (see decodePreview). */
  image: GrayImage;
  cam: ClassActivationMap;
  /** Colour weight where the map is 1; it fades with the map so cold regions show the plain X-ray. */
  opacity?: number;
}

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

/** Blends the colour-mapped heat over the grey pixels; returns interleaved RGB bytes. */
export function blendOverlay(options: OverlayOptions): Uint8Array {
  const { image, cam } = options;
  const opacity = options.opacity ?? 0.6;
  const heat = upsampleMap(cam, image.width, image.height);
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < heat.length; i++) {
    const grey = image.data[i];
    const colour = colourFor(heat[i]);
    const alpha = opacity * Math.sqrt(Math.max(0, heat[i]));
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(grey * (1 - alpha) + colour[c] * alpha);
  }
  return rgb;
}

/** The overlay as PNG bytes, the same size as `options.image`. */
export async function renderOverlay(options: OverlayOptions): Promise<Uint8Array> {
  const rgb = blendOverlay(options);
  const png = await sharp(rgb, {
    raw: { width: options.image.width, height: options.image.height, channels: 3 },
  })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}
