/**
 * The detail view: one X-ray at full resolution in the viewer (zoom, pan, window/level, Grad-CAM heat), its
 * probability against the operating threshold, and how to read both. A native <dialog>: focus stays inside,
 * Esc closes it, focus returns to the row that opened it, and ←/→ walk the worklist. Focus survives every
 * re-render (the Grad-CAM map arriving never drops it to <body>).
 */
import type { GrayImage } from '../core/types.ts';
import type { ModelInfo } from './api.ts';
import { decodeFile } from './decode.ts';
import { byId, h, replaceChildren } from './dom.ts';
import { flagText, percent } from './format.ts';
import { isFinished, type WorkItem } from './items.ts';
import type { Scorer } from './scoring.ts';
import { Viewer, type ViewerState } from './viewer.ts';
import { probabilityBar } from './worklist.ts';

export interface DetailOptions {
  model: () => ModelInfo | null;
  /** Rows in worklist order, for previous / next. */
  items: () => WorkItem[];
  /** The scorer that scored this item, for its Grad-CAM map. */
  scorerFor: (item: WorkItem) => Promise<Scorer>;
}

/** Decoded images of recently opened rows (full resolution is large: keep a few). */
const IMAGE_CACHE_SIZE = 4;

export class DetailView {
  private readonly dialog: HTMLDialogElement;
  private readonly options: DetailOptions;
  private current: WorkItem | null = null;
  private opener: HTMLElement | null = null;
  private viewer: Viewer | null = null;
  private readonly viewerState: ViewerState = { overlayOn: true, opacity: 0.7, tool: 'pan' };
  private readonly images = new Map<number, Promise<GrayImage>>();

  constructor(options: DetailOptions) {
    this.options = options;
    this.dialog = byId<HTMLDialogElement>('detail');
    this.dialog.addEventListener('close', () => {
      this.current = null;
      this.viewer = null;
      this.opener?.focus();
    });
    this.dialog.addEventListener('keydown', (event) => {
      const target = event.target as HTMLElement;
      // Arrows already mean something on the opacity slider.
      if (target.matches('input[type="range"]')) return;
      if (event.key === 'ArrowLeft') this.step(-1);
      else if (event.key === 'ArrowRight') this.step(1);
      else if (!event.ctrlKey && !event.metaKey && !event.altKey && this.viewer?.handleKey(event)) {
        event.preventDefault();
      }
    });
    // A click on the backdrop (outside the panel) closes, as users expect of a modal.
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(item: WorkItem): void {
    const first = !this.dialog.open;
    if (first) this.opener = document.activeElement as HTMLElement | null;
    this.current = item;
    this.render(item);
    if (first) {
      this.dialog.showModal();
      this.dialog.querySelector<HTMLElement>('[data-key="close"]')?.focus();
    }
    void this.loadImage(item);
    if (item.outcome?.status === 'scored' && item.cam === undefined) void this.loadCam(item);
  }

  private finishedItems(): WorkItem[] {
    return this.options.items().filter(isFinished);
  }

  private step(delta: number): void {
    const list = this.finishedItems();
    const next = list[list.indexOf(this.current as WorkItem) + delta];
    if (next) this.open(next);
  }

  private image(item: WorkItem): Promise<GrayImage> {
    let image = this.images.get(item.id);
    if (!image) {
      image = decodeFile(item.file).then((decoded) => decoded.image);
      this.images.set(item.id, image);
      if (this.images.size > IMAGE_CACHE_SIZE) this.images.delete(this.images.keys().next().value!);
    }
    return image;
  }

  private async loadImage(item: WorkItem): Promise<void> {
    const viewer = this.viewer;
    try {
      const image = await this.image(item);
      if (this.current === item && this.viewer === viewer) viewer?.setImage(image);
    } catch (err) {
      this.images.delete(item.id);
      if (this.current === item)
        viewer?.setStatus(`This browser could not show the image: ${(err as Error).message}`);
    }
  }

  private async loadCam(item: WorkItem): Promise<void> {
    try {
      const scorer = await this.options.scorerFor(item);
      item.cam = await scorer.explain(item.file);
    } catch (err) {
      item.cam = null;
      item.camError = (err as Error).message;
    }
    if (this.current !== item || !this.viewer) return;
    if (item.cam) this.viewer.setCam(item.cam);
    else this.viewer.setStatus(`Grad-CAM unavailable: ${item.camError}`);
  }

  private render(item: WorkItem): void {
    const focusedKey = this.dialog.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).dataset.key
      : undefined;
    const list = this.finishedItems();
    const index = list.indexOf(item);
    const outcome = item.outcome;
    this.viewer =
      outcome && outcome.status !== 'failed'
        ? new Viewer({
            name: item.file.name,
            state: this.viewerState,
            flagged: outcome.status === 'scored' && outcome.flagged === true,
            onStateChange: () => {},
          })
        : null;
    if (this.viewer && item.cam) this.viewer.setCam(item.cam);
    replaceChildren(
      this.dialog,
      h(
        'div',
        { class: 'detail-panel', tabindex: -1, 'data-key': 'panel' },
        h(
          'header',
          { class: 'detail-header' },
          h('h2', { id: 'detail-title', title: item.file.name }, item.file.name),
          h(
            'div',
            { class: 'detail-nav' },
            h(
              'button',
              {
                type: 'button',
                class: 'button-quiet',
                'data-key': 'previous',
                disabled: index <= 0,
                onclick: () => this.step(-1),
              },
              '‹ Previous',
            ),
            h('span', { class: 'detail-position' }, index >= 0 ? `${index + 1} of ${list.length}` : ''),
            h(
              'button',
              {
                type: 'button',
                class: 'button-quiet',
                'data-key': 'next',
                disabled: index < 0 || index >= list.length - 1,
                onclick: () => this.step(1),
              },
              'Next ›',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'detail-close',
                'data-key': 'close',
                'aria-label': 'Close details',
                onclick: () => this.dialog.close(),
              },
              '✕',
            ),
          ),
        ),
        outcome?.status === 'failed' || !outcome
          ? this.failure(item)
          : h('div', { class: 'detail-body' }, this.viewer!.element, this.facts(item)),
        h(
          'p',
          { class: 'detail-keys muted' },
          'Keys: ← → previous / next · H heat on/off · + − zoom · 0 reset · W window/level · Esc close',
        ),
      ),
    );
    this.dialog.setAttribute('aria-labelledby', 'detail-title');
    if (this.dialog.open) this.restoreFocus(focusedKey);
  }

  /** Puts focus back on the control that had it, or on the panel when that control is gone or disabled. */
  private restoreFocus(key: string | undefined): void {
    const target = key ? this.dialog.querySelector<HTMLElement>(`[data-key="${key}"]`) : null;
    if (target && !(target as HTMLButtonElement).disabled) target.focus();
    else this.dialog.querySelector<HTMLElement>('.detail-panel')?.focus();
  }

  private failure(item: WorkItem): HTMLElement {
    const error = item.outcome?.error;
    return h(
      'div',
      { class: 'detail-failure' },
      h('p', { class: 'error-text' }, error?.message ?? 'This file could not be scored.'),
      h(
        'p',
        {},
        `Error code: ${error?.code ?? 'unknown'}. Pneumoscope reads JPEG, PNG and DICOM chest X-rays. `,
        'This image was not scored: it needs a person to read it.',
      ),
    );
  }

  private facts(item: WorkItem): HTMLElement {
    const o = item.outcome!;
    const where = item.where === 'device' ? 'on this device (the image did not leave it)' : 'on the server';
    const common = [
      h('dt', {}, 'Model'),
      h('dd', {}, `${o.model.name} ${o.model.version}`),
      h('dt', {}, 'Scored'),
      h('dd', {}, where),
    ];
    const warnings = o.warnings?.length
      ? h(
          'ul',
          { class: 'warnings' },
          o.warnings.map((w) => h('li', {}, w)),
        )
      : null;
    const caveat = h(
      'p',
      { class: 'caveat caveat-strong' },
      'A triage aid for trained readers: not a diagnosis. Every image must be read by a qualified clinician.',
    );
    if (o.status === 'rejected') {
      return h(
        'section',
        { class: 'facts', 'aria-label': 'Not scored' },
        h('p', { class: 'facts-kicker' }, 'Needs a person'),
        h(
          'p',
          { class: 'facts-verdict' },
          h('span', { class: 'chip chip-error' }, 'Rejected'),
          ` ${o.reason ?? ''}`,
        ),
        o.probability !== undefined
          ? h(
              'p',
              { class: 'muted' },
              `The model would have said ${percent(o.probability)}; that number is not used, because the image ` +
                'does not look like what the model was trained on.',
            )
          : null,
        h('dl', { class: 'facts-list' }, common),
        warnings,
        caveat,
      );
    }
    const probability = o.probability ?? 0;
    const flagged = o.flagged === true;
    const threshold = `${(o.threshold * 100).toFixed(1)}%`;
    return h(
      'section',
      { class: 'facts', 'aria-label': 'Score' },
      h('p', { class: 'facts-kicker' }, 'Probability of pneumonia'),
      h('p', { class: 'facts-probability' }, percent(probability)),
      probabilityBar(probability, o.threshold),
      h(
        'p',
        { class: 'facts-verdict' },
        h('span', { class: `chip ${flagged ? 'chip-flag' : 'chip-quiet'}` }, flagText(flagged)),
        flagged ? ` At or above the threshold of ${threshold}.` : ` Below the threshold of ${threshold}.`,
      ),
      h('dl', { class: 'facts-list' }, common),
      warnings,
      h(
        'p',
        { class: 'caveat' },
        'Grad-CAM shows which regions raised this score the most. It is not an outline of disease, and it can ' +
          'point at things that are not lung (labels, tubes, borders).',
      ),
      caveat,
    );
  }
}
