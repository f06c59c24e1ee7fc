/**
 * The worklist: every uploaded X-ray as a row, highest probability first, scored two at a time in the
 * background. Rows are focusable; Enter or Space opens the detail view.
 */
import { ApiRequestError, type PredictResponse, predict } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { fileSize, percent } from './format.ts';

export type ItemStatus = 'waiting' | 'scoring' | 'done' | 'failed';

export interface WorkItem {
  id: number;
  file: File;
  status: ItemStatus;
  result?: PredictResponse;
  /** Grad-CAM overlay data URL, fetched when the detail view first needs it. */
  heatmap?: string;
  error?: { code: string; message: string };
}

/** Uploads in flight at once: enough to keep the server busy without flooding its queue. */
const PARALLEL_UPLOADS = 2;

export interface WorklistOptions {
  table: HTMLTableSectionElement;
  summary: HTMLElement;
  threshold: () => number | null;
  onOpen: (item: WorkItem) => void;
  onChange?: () => void;
}

export class Worklist {
  readonly items: WorkItem[] = [];
  private nextId = 1;
  private active = 0;
  private readonly options: WorklistOptions;

  constructor(options: WorklistOptions) {
    this.options = options;
  }

  add(files: File[]): void {
    for (const file of files) this.items.push({ id: this.nextId++, file, status: 'waiting' });
    this.render();
    this.pump();
  }

  clear(): void {
    // Finished and failed rows go; rows still being scored stay so their answers have somewhere to land.
    for (let i = this.items.length - 1; i >= 0; i--) {
      if (this.items[i].status === 'done' || this.items[i].status === 'failed') this.items.splice(i, 1);
    }
    this.render();
  }

  /** Rows in worklist order: scored by probability, then pending in upload order, then failed. */
  sorted(): WorkItem[] {
    const group = (item: WorkItem) => (item.status === 'done' ? 0 : item.status === 'failed' ? 2 : 1);
    return [...this.items].sort(
      (a, b) =>
        group(a) - group(b) || (b.result?.probability ?? 0) - (a.result?.probability ?? 0) || a.id - b.id,
    );
  }

  private pump(): void {
    while (this.active < PARALLEL_UPLOADS) {
      const next = this.items.find((item) => item.status === 'waiting');
      if (!next) return;
      this.active++;
      next.status = 'scoring';
      void this.score(next).finally(() => {
        this.active--;
        this.render();
        this.pump();
      });
    }
  }

  private async score(item: WorkItem): Promise<void> {
    this.render();
    try {
      item.result = await predict(item.file, { heatmap: false, preview: true });
      item.status = 'done';
    } catch (err) {
      item.status = 'failed';
      item.error =
        err instanceof ApiRequestError
          ? { code: err.code, message: err.message }
          : { code: 'client', message: String(err) };
    }
  }

  render(): void {
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.itemId;
    const rows = this.sorted();
    let rank = 0;
    replaceChildren(
      this.options.table,
      rows.length === 0
        ? h(
            'tr',
            { class: 'empty' },
            h('td', { colspan: 5 }, 'No images yet. Drop X-rays above or try the samples.'),
          )
        : rows.map((item) => this.row(item, item.status === 'done' ? ++rank : null)),
    );
    if (focusedId) {
      this.options.table.querySelector<HTMLElement>(`[data-item-id="${focusedId}"]`)?.focus();
    }
    this.renderSummary();
    this.options.onChange?.();
  }

  private renderSummary(): void {
    const threshold = this.options.threshold();
    const done = this.items.filter((item) => item.status === 'done');
    const flagged = done.filter((item) => item.result?.label === 'PNEUMONIA').length;
    const pending = this.items.filter(
      (item) => item.status === 'waiting' || item.status === 'scoring',
    ).length;
    const failed = this.items.filter((item) => item.status === 'failed').length;
    const parts = [`${this.items.length} image${this.items.length === 1 ? '' : 's'}`];
    if (done.length > 0) {
      parts.push(
        `${flagged} at or above the threshold${threshold === null ? '' : ` of ${percent(threshold)}`}`,
      );
    }
    if (pending > 0) parts.push(`${pending} being scored`);
    if (failed > 0) parts.push(`${failed} could not be read`);
    this.options.summary.textContent = this.items.length === 0 ? '' : parts.join(' · ');
  }

  private row(item: WorkItem, rank: number | null): HTMLTableRowElement {
    const open = () => this.options.onOpen(item);
    const clickable = item.status === 'done' || item.status === 'failed';
    return h(
      'tr',
      {
        class: `row status-${item.status}${item.result?.label === 'PNEUMONIA' ? ' flagged' : ''}`,
        tabindex: clickable ? 0 : -1,
        'data-item-id': item.id,
        'aria-label': rowLabel(item),
        onclick: clickable ? open : null,
        onkeydown: clickable
          ? (event: Event) => {
              const key = (event as KeyboardEvent).key;
              if (key === 'Enter' || key === ' ') {
                event.preventDefault();
                open();
              }
            }
          : null,
      },
      h('td', { class: 'rank' }, rank ?? ''),
      h('td', { class: 'thumb' }, thumbnail(item)),
      h(
        'td',
        { class: 'name' },
        h('span', { class: 'file-name', title: item.file.name }, item.file.name),
        h('span', { class: 'file-meta' }, fileSize(item.file.size)),
      ),
      h('td', { class: 'probability' }, probabilityCell(item, this.options.threshold())),
      h('td', { class: 'label' }, labelCell(item)),
    );
  }
}

function rowLabel(item: WorkItem): string {
  if (item.status === 'done' && item.result) {
    return `${item.file.name}: probability ${percent(item.result.probability)}, label ${item.result.label}. Press Enter for details.`;
  }
  if (item.status === 'failed') return `${item.file.name}: could not be scored. Press Enter for details.`;
  return `${item.file.name}: being scored`;
}

function thumbnail(item: WorkItem): HTMLElement {
  if (item.result?.preview) return h('img', { src: item.result.preview, alt: '', loading: 'lazy' });
  return h('div', {
    class: `thumb-placeholder${item.status === 'failed' ? ' failed' : ''}`,
    'aria-hidden': 'true',
  });
}

/** A horizontal bar with the probability filled in and a tick at the operating threshold. */
export function probabilityBar(probability: number, threshold: number | null): HTMLElement {
  const fill = h('div', {
    class: `bar-fill${threshold !== null && probability >= threshold ? ' flag' : ''}`,
  });
  fill.style.setProperty('width', percent(probability, 2));
  const bar = h('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
  if (threshold !== null) {
    const tick = h('div', { class: 'bar-threshold', title: `threshold ${percent(threshold)}` });
    tick.style.setProperty('left', percent(threshold, 2));
    bar.append(tick);
  }
  return bar;
}

function probabilityCell(item: WorkItem, threshold: number | null): Node | string {
  if (item.status === 'done' && item.result) {
    return h(
      'div',
      { class: 'probability-cell' },
      probabilityBar(item.result.probability, threshold),
      h('span', { class: 'probability-value' }, percent(item.result.probability)),
    );
  }
  if (item.status === 'failed') return h('span', { class: 'error-text' }, item.error?.message ?? 'failed');
  return h(
    'span',
    { class: 'pending' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    item.status === 'scoring' ? 'Scoring…' : 'Waiting…',
  );
}

function labelCell(item: WorkItem): Node | string {
  if (item.status === 'done' && item.result) {
    const flagged = item.result.label === 'PNEUMONIA';
    return h('span', { class: `chip ${flagged ? 'chip-flag' : 'chip-clear'}` }, item.result.label);
  }
  if (item.status === 'failed') return h('span', { class: 'chip chip-error' }, 'Not scored');
  return '';
}
