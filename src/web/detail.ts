/**
 * The detail view: one X-ray large, with its Grad-CAM overlay (toggle and opacity), its probability against the
 * operating threshold, and how to read both. A native <dialog>: focus stays inside, Esc closes it, and focus
 * returns to the row that opened it.
 */
import { ApiRequestError, type ModelInfo, predict } from './api.ts';
import { byId, h, replaceChildren } from './dom.ts';
import { calibrationText, percent, thresholdText } from './format.ts';
import { probabilityBar, type WorkItem } from './worklist.ts';

export interface DetailOptions {
  model: () => ModelInfo | null;
  /** Rows in worklist order, for previous / next. */
  items: () => WorkItem[];
}

export class DetailView {
  private readonly dialog: HTMLDialogElement;
  private readonly options: DetailOptions;
  private current: WorkItem | null = null;
  private opener: HTMLElement | null = null;
  private overlayOn = true;
  private opacity = 0.6;

  constructor(options: DetailOptions) {
    this.options = options;
    this.dialog = byId<HTMLDialogElement>('detail');
    this.dialog.addEventListener('close', () => {
      this.current = null;
      this.opener?.focus();
    });
    // Left/right arrows walk the worklist, except where they already mean something (the opacity slider).
    this.dialog.addEventListener('keydown', (event) => {
      if ((event.target as HTMLElement).matches('input[type="range"]')) return;
      if (event.key === 'ArrowLeft') this.step(-1);
      else if (event.key === 'ArrowRight') this.step(1);
    });
    // A click on the backdrop (outside the panel) closes, as users expect of a modal.
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(item: WorkItem): void {
    if (!this.dialog.open) this.opener = document.activeElement as HTMLElement | null;
    this.current = item;
    this.render(item);
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector<HTMLElement>('.detail-close')?.focus();
    if (item.status === 'done' && item.heatmap === undefined) void this.loadHeatmap(item);
  }

  private step(delta: number): void {
    const list = this.options.items().filter((item) => item.status === 'done' || item.status === 'failed');
    const index = list.indexOf(this.current as WorkItem);
    const next = list[index + delta];
    if (next) this.open(next);
  }

  private async loadHeatmap(item: WorkItem): Promise<void> {
    try {
      const result = await predict(item.file, { heatmap: true, preview: false });
      item.heatmap = result.heatmap ?? '';
    } catch (err) {
      item.heatmap = '';
      const message = err instanceof ApiRequestError ? err.message : String(err);
      if (this.current === item) this.setStatus(`Grad-CAM unavailable: ${message}`);
      return;
    }
    if (this.current === item) this.render(item);
  }

  private setStatus(text: string): void {
    const status = this.dialog.querySelector('.overlay-status');
    if (status) status.textContent = text;
  }

  private render(item: WorkItem): void {
    const list = this.options.items().filter((i) => i.status === 'done' || i.status === 'failed');
    const index = list.indexOf(item);
    replaceChildren(
      this.dialog,
      h(
        'div',
        { class: 'detail-panel' },
        h(
          'header',
          { class: 'detail-header' },
          h('h2', { id: 'detail-title' }, item.file.name),
          h(
            'div',
            { class: 'detail-nav' },
            h(
              'button',
              { type: 'button', class: 'button-quiet', disabled: index <= 0, onclick: () => this.step(-1) },
              '‹ Previous',
            ),
            h('span', { class: 'detail-position' }, index >= 0 ? `${index + 1} of ${list.length}` : ''),
            h(
              'button',
              {
                type: 'button',
                class: 'button-quiet',
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
                'aria-label': 'Close details',
                onclick: () => this.dialog.close(),
              },
              '✕',
            ),
          ),
        ),
        item.status === 'failed'
          ? this.failure(item)
          : h('div', { class: 'detail-body' }, this.viewer(item), this.facts(item)),
      ),
    );
    this.dialog.setAttribute('aria-labelledby', 'detail-title');
  }

  private failure(item: WorkItem): HTMLElement {
    return h(
      'div',
      { class: 'detail-failure' },
      h('p', { class: 'error-text' }, item.error?.message ?? 'This file could not be scored.'),
      h(
        'p',
        {},
        `Error code: ${item.error?.code ?? 'unknown'}. Pneumoscope reads JPEG, PNG and DICOM chest X-rays.`,
      ),
    );
  }

  private viewer(item: WorkItem): HTMLElement {
    const base = h('img', {
      class: 'stage-image',
      src: item.result?.preview ?? '',
      alt: `X-ray ${item.file.name}`,
    });
    const overlay = item.heatmap
      ? h('img', {
          class: 'stage-overlay',
          src: item.heatmap,
          alt: 'Grad-CAM overlay: warmer colours raised the score more',
        })
      : null;
    const applyOverlay = () => {
      if (!overlay) return;
      overlay.hidden = !this.overlayOn;
      overlay.style.setProperty('opacity', String(this.opacity));
    };
    applyOverlay();
    const opacityValue = h('output', { class: 'opacity-value' }, percent(this.opacity, 0));
    const toggle = h('input', {
      type: 'checkbox',
      id: 'overlay-toggle',
      checked: this.overlayOn,
      disabled: !overlay,
      onchange: (event: Event) => {
        this.overlayOn = (event.target as HTMLInputElement).checked;
        applyOverlay();
      },
    });
    const slider = h('input', {
      type: 'range',
      id: 'overlay-opacity',
      min: 0,
      max: 100,
      step: 5,
      value: Math.round(this.opacity * 100),
      disabled: !overlay,
      oninput: (event: Event) => {
        this.opacity = Number((event.target as HTMLInputElement).value) / 100;
        opacityValue.textContent = percent(this.opacity, 0);
        applyOverlay();
      },
    });
    const status =
      item.heatmap === undefined ? 'Computing Grad-CAM…' : item.heatmap === '' ? 'Grad-CAM unavailable' : '';
    return h(
      'figure',
      { class: 'viewer' },
      h('div', { class: 'stage' }, h('div', { class: 'stage-frame' }, base, overlay)),
      h(
        'figcaption',
        { class: 'viewer-controls' },
        h('label', { class: 'toggle', for: 'overlay-toggle' }, toggle, ' Grad-CAM overlay'),
        h('label', { class: 'slider', for: 'overlay-opacity' }, 'Opacity ', slider, opacityValue),
        h('span', { class: 'overlay-status', role: 'status' }, status),
      ),
    );
  }

  private facts(item: WorkItem): HTMLElement {
    const result = item.result!;
    const model = this.options.model();
    const flagged = result.label === 'PNEUMONIA';
    const comparison = flagged ? 'at or above' : 'below';
    return h(
      'section',
      { class: 'facts', 'aria-label': 'Score' },
      h('p', { class: 'facts-kicker' }, 'Probability of pneumonia'),
      h('p', { class: 'facts-probability' }, percent(result.probability)),
      probabilityBar(result.probability, result.threshold),
      h(
        'p',
        { class: 'facts-verdict' },
        h('span', { class: `chip ${flagged ? 'chip-flag' : 'chip-clear'}` }, result.label),
        ` ${comparison} the operating threshold of ${thresholdText(result.threshold)}.`,
      ),
      h(
        'dl',
        { class: 'facts-list' },
        h('dt', {}, 'Threshold rule'),
        h('dd', {}, model?.thresholdRule ?? '—'),
        h('dt', {}, 'Calibration'),
        h('dd', {}, model ? calibrationText(model) : '—'),
        h('dt', {}, 'Model'),
        h('dd', {}, `${result.model.name} ${result.model.version}`),
      ),
      result.warnings?.length
        ? h(
            'ul',
            { class: 'warnings' },
            result.warnings.map((w) => h('li', {}, w)),
          )
        : null,
      h(
        'p',
        { class: 'caveat' },
        'Grad-CAM shows which regions raised this score the most. It is not an outline of disease, and it can ' +
          'point at things that are not lung (labels, tubes, borders).',
      ),
      h(
        'p',
        { class: 'caveat caveat-strong' },
        'A triage aid for trained readers: not a diagnosis. Every image must be read by a qualified clinician.',
      ),
    );
  }
}
