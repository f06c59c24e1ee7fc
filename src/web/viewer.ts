/**
 * The image viewer of the detail view: the full-resolution image (decoded in the browser, DICOM included) on a
 * canvas, with zoom (wheel, + / −), pan (drag), window/level (Shift+drag, or the W tool), and the Grad-CAM heat
 * layer on top (toggle with H, opacity slider). The heat layer is transparent at its cold end, and faded for
 * images below the threshold: its colours are scaled per image, so a normal film at 15% shows a spot as hot as
 * a pneumonia at 98%; the colour bar beside it says so.
 */
import type { GrayImage } from '../core/types.ts';
import { colourFor } from '../explain/colormap.ts';
import { heatLayer } from '../explain/upsample.ts';
import type { GradCamMap } from './api.ts';
import { greyImageData } from './decode.ts';
import { h } from './dom.ts';

/** Overlay strength for images below the threshold, relative to the slider. */
export const BELOW_THRESHOLD_FADE = 0.4;
/** Longest side of the drawn heat layer; the browser smooths it up to the image size. */
const HEAT_SIDE = 256;

export interface ViewerState {
  overlayOn: boolean;
  opacity: number;
  tool: 'pan' | 'window';
}

/** A 256-entry window/level lookup table: values from level − width/2 to level + width/2 span black to white. */
export function windowLut(level: number, width: number): Uint8Array {
  const lut = new Uint8Array(256);
  const low = level - width / 2;
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round(((v - low) / width) * 255)));
  return lut;
}

export class Viewer {
  readonly element: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly frame: HTMLElement;
  private readonly base: HTMLCanvasElement;
  private readonly heat: HTMLCanvasElement;
  private readonly status: HTMLElement;
  private readonly state: ViewerState;
  private readonly flagged: boolean;
  private image: GrayImage | null = null;
  private cam: GradCamMap | null = null;
  private zoom = 1;
  private panX = 0;
  private panY = 0;
  private level = 127.5;
  private width = 255;

  constructor(options: { name: string; state: ViewerState; flagged: boolean; onStateChange: () => void }) {
    this.state = options.state;
    this.flagged = options.flagged;
    this.base = h('canvas', { class: 'stage-image', role: 'img', 'aria-label': `X-ray ${options.name}` });
    this.heat = h('canvas', {
      class: 'stage-overlay',
      role: 'img',
      'aria-label': 'Grad-CAM heat: warmer colours raised the score more',
      hidden: true,
    });
    this.frame = h('div', { class: 'stage-frame' }, this.base, this.heat);
    this.stage = h('div', { class: 'stage', 'data-tool': this.state.tool }, this.frame);
    this.status = h('span', { class: 'overlay-status', role: 'status' }, 'Loading the image…');
    const toggle = h('input', {
      type: 'checkbox',
      id: 'overlay-toggle',
      'data-key': 'overlay-toggle',
      checked: this.state.overlayOn,
      onchange: (event: Event) => {
        this.state.overlayOn = (event.target as HTMLInputElement).checked;
        this.applyOverlay();
        options.onStateChange();
      },
    });
    const opacityValue = h('output', { class: 'opacity-value' }, `${Math.round(this.state.opacity * 100)}%`);
    const slider = h('input', {
      type: 'range',
      id: 'overlay-opacity',
      'data-key': 'overlay-opacity',
      min: 0,
      max: 100,
      step: 5,
      value: Math.round(this.state.opacity * 100),
      oninput: (event: Event) => {
        this.state.opacity = Number((event.target as HTMLInputElement).value) / 100;
        opacityValue.textContent = `${Math.round(this.state.opacity * 100)}%`;
        this.applyOverlay();
      },
    });
    const tool = (name: ViewerState['tool'], label: string, key: string) =>
      h(
        'button',
        {
          type: 'button',
          class: 'button-quiet tool',
          'data-key': `tool-${name}`,
          'aria-pressed': String(this.state.tool === name),
          title: `${label} (${key})`,
          onclick: () => this.setTool(name),
        },
        label,
      );
    this.element = h(
      'figure',
      { class: 'viewer' },
      this.stage,
      h(
        'figcaption',
        { class: 'viewer-controls' },
        h(
          'div',
          { class: 'viewer-tools', role: 'group', 'aria-label': 'Image tools' },
          tool('pan', 'Pan', 'drag'),
          tool('window', 'Window/level', 'W, or Shift+drag'),
          h(
            'button',
            {
              type: 'button',
              class: 'button-quiet',
              'data-key': 'zoom-in',
              title: 'Zoom in (+)',
              onclick: () => this.zoomBy(1.25),
            },
            '+',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'button-quiet',
              'data-key': 'zoom-out',
              title: 'Zoom out (−)',
              onclick: () => this.zoomBy(0.8),
            },
            '−',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'button-quiet',
              'data-key': 'reset',
              title: 'Reset zoom and window (0)',
              onclick: () => this.reset(),
            },
            'Reset',
          ),
        ),
        h('label', { class: 'toggle', for: 'overlay-toggle' }, toggle, ' Grad-CAM heat (H)'),
        h('label', { class: 'slider', for: 'overlay-opacity' }, 'Opacity ', slider, opacityValue),
        colourBar(this.flagged),
        this.status,
      ),
    );
    this.bindPointer();
  }

  /** Keys the detail view passes on; true when the viewer used the key. */
  handleKey(event: KeyboardEvent): boolean {
    if (event.key === 'h' || event.key === 'H') {
      this.state.overlayOn = !this.state.overlayOn;
      const toggle = this.element.querySelector<HTMLInputElement>('#overlay-toggle');
      if (toggle) toggle.checked = this.state.overlayOn;
      this.applyOverlay();
    } else if (event.key === '+' || event.key === '=') this.zoomBy(1.25);
    else if (event.key === '-' || event.key === '_') this.zoomBy(0.8);
    else if (event.key === '0') this.reset();
    else if (event.key === 'w' || event.key === 'W')
      this.setTool(this.state.tool === 'window' ? 'pan' : 'window');
    else return false;
    return true;
  }

  setImage(image: GrayImage): void {
    this.image = image;
    this.base.width = image.width;
    this.base.height = image.height;
    this.frame.style.setProperty('aspect-ratio', `${image.width} / ${image.height}`);
    this.drawBase();
    this.setStatus(this.cam ? '' : 'Computing Grad-CAM…');
    this.drawHeat();
  }

  setCam(cam: GradCamMap): void {
    this.cam = cam;
    if (this.image) this.setStatus('');
    this.drawHeat();
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  private drawBase(): void {
    if (!this.image) return;
    const lut = this.level === 127.5 && this.width === 255 ? undefined : windowLut(this.level, this.width);
    this.base.getContext('2d')!.putImageData(greyImageData(this.image, lut), 0, 0);
  }

  private drawHeat(): void {
    if (!this.cam || !this.image) return;
    const scale = Math.min(1, HEAT_SIDE / Math.max(this.image.width, this.image.height));
    const width = Math.max(1, Math.round(this.image.width * scale));
    const height = Math.max(1, Math.round(this.image.height * scale));
    this.heat.width = width;
    this.heat.height = height;
    const map = { width: this.cam.width, height: this.cam.height, data: Float32Array.from(this.cam.values) };
    const rgba = heatLayer(map, width, height, 1);
    const layer = new ImageData(width, height);
    layer.data.set(rgba);
    this.heat.getContext('2d')!.putImageData(layer, 0, 0);
    this.applyOverlay();
  }

  private applyOverlay(): void {
    const ready = this.cam !== null && this.image !== null;
    this.heat.hidden = !ready || !this.state.overlayOn;
    const strength = this.state.opacity * (this.flagged ? 1 : BELOW_THRESHOLD_FADE);
    this.heat.style.setProperty('opacity', String(strength));
  }

  private setTool(tool: ViewerState['tool']): void {
    this.state.tool = tool;
    this.stage.dataset.tool = tool;
    for (const button of this.element.querySelectorAll<HTMLElement>('.tool')) {
      button.setAttribute('aria-pressed', String(button.dataset.key === `tool-${tool}`));
    }
  }

  private zoomBy(factor: number): void {
    this.zoom = Math.max(1, Math.min(16, this.zoom * factor));
    if (this.zoom === 1) {
      this.panX = 0;
      this.panY = 0;
    }
    this.applyTransform();
  }

  private reset(): void {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.level = 127.5;
    this.width = 255;
    this.applyTransform();
    this.drawBase();
  }

  private applyTransform(): void {
    this.frame.style.setProperty(
      'transform',
      `translate(${this.panX}px, ${this.panY}px) scale(${this.zoom})`,
    );
  }

  private bindPointer(): void {
    let drag: {
      x: number;
      y: number;
      mode: 'pan' | 'window';
      panX: number;
      panY: number;
      level: number;
      width: number;
    } | null = null;
    let pending = false;
    this.stage.addEventListener('pointerdown', (event) => {
      const mode = event.shiftKey ? 'window' : this.state.tool;
      drag = {
        x: event.clientX,
        y: event.clientY,
        mode,
        panX: this.panX,
        panY: this.panY,
        level: this.level,
        width: this.width,
      };
      this.stage.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    this.stage.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (drag.mode === 'pan') {
        this.panX = drag.panX + dx;
        this.panY = drag.panY + dy;
        this.applyTransform();
        return;
      }
      // Window/level as PACS viewers do it: right widens the window, down raises the level.
      this.width = Math.max(2, Math.min(512, drag.width + dx));
      this.level = Math.max(0, Math.min(255, drag.level + dy / 2));
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          this.drawBase();
        });
      }
    });
    const end = () => {
      drag = null;
    };
    this.stage.addEventListener('pointerup', end);
    this.stage.addEventListener('pointercancel', end);
    this.stage.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        this.zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15);
      },
      { passive: false },
    );
    this.stage.addEventListener('dblclick', () => this.reset());
  }
}

/** The heat colour scale, and what it does and does not mean. */
function colourBar(flagged: boolean): HTMLElement {
  const bar = h('canvas', { class: 'colour-bar-scale', width: 128, height: 1, 'aria-hidden': 'true' });
  const context = bar.getContext('2d');
  if (context) {
    const row = new ImageData(128, 1);
    for (let x = 0; x < 128; x++) {
      const [r, g, b] = colourFor(x / 127);
      row.data.set([r, g, b, 255], x * 4);
    }
    context.putImageData(row, 0, 0);
  }
  return h(
    'div',
    { class: 'colour-bar' },
    h('span', { class: 'colour-bar-end' }, 'less'),
    bar,
    h('span', { class: 'colour-bar-end' }, 'more influence on the score'),
    h(
      'p',
      { class: 'colour-bar-note' },
      'Colours are scaled per image: every image has a hottest spot, even one with a low score.',
      flagged ? '' : ' Faded because this image is below the threshold.',
    ),
  );
}
