/**
 * Renders a class-activation map over the grey X-ray as an RGB PNG. The map covers the whole model input, which
 * is the whole image stretched to a square, so up-sampling it to the image's own width and height puts every
 * cell back over the region it came from.
 */
import sharp from 'sharp';
import type { GrayImage } from '../core/types.ts';
import { colourFor } from './colormap.ts';
import type { ClassActivationMap } from './gradcam.ts';
import { heatAlpha, upsampleMap } from './upsample.ts';

export { upsampleMap };

export interface OverlayOptions {
  /** The grey image to draw on, at the original aspect ratio (see decodePreview). */
  image: GrayImage;
  cam: ClassActivationMap;
  /** Colour weight where the map is 1; it fades with the map, and cold regions show the plain X-ray. */
  opacity?: number;
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
    const alpha = heatAlpha(heat[i], opacity);
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
