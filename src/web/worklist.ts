/**
 * The worklist: every uploaded X-ray as a row. Rows that need a person (the gate refused the image, or it could
 * not be read) come first under "Needs a person"; then scored rows, highest probability first, each Flagged or
 * Not flagged at the model's threshold. Rows are focusable: Enter or Space opens the detail view, ↑/↓ move
 * between rows. The same file added twice is kept once.
 */
import { h, replaceChildren } from './dom.ts';
import { fileSize, flagText, percent } from './format.ts';
import { fileKey, isFinished, needsPerson, type WorkItem, worklistOrder } from './items.ts';
import type { Scorer } from './scoring.ts';

/** Files scored at once: enough to keep the server busy without flooding its queue. */
const PARALLEL = { server: 2, device: 1 };

export interface WorklistOptions {
  table: HTMLTableSectionElement;
  summary: HTMLElement;
  threshold: () => number | null;
  /** The scorer new files go to (the server, or this device). */
  scorer: () => Promise<Scorer>;
  onOpen: (item: WorkItem) => void;
  onChange?: () => void;
}

export class Worklist {
  readonly items: WorkItem[] = [];
  private nextId = 1;
  private active = 0;
  private duplicates = 0;
  private readonly options: WorklistOptions;

  constructor(options: WorklistOptions) {
    this.options = options;
  }

  /** Adds files not already in the list; returns how many were new. */
  add(files: File[]): number {
    const known = new Set(this.items.map((item) => fileKey(item.file)));
    let added = 0;
    this.duplicates = 0;
    for (const file of files) {
      const key = fileKey(file);
      if (known.has(key)) {
        this.duplicates++;
        continue;
      }
      known.add(key);
      this.items.push({ id: this.nextId++, file, state: 'waiting', where: 'server' });
      added++;
    }
    this.render();
    void this.pump();
    return added;
  }

  clear(): void {
    // Finished rows go; rows still being scored stay so their answers have somewhere to land.
    for (let i = this.items.length - 1; i >= 0; i--) {
      if (isFinished(this.items[i])) this.items.splice(i, 1);
    }
    this.duplicates = 0;
    this.render();
  }

  sorted(): WorkItem[] {
    return worklistOrder(this.items);
  }

  private async pump(): Promise<void> {
    let scorer: Scorer;
    try {
      scorer = await this.options.scorer();
    } catch (err) {
      this.options.summary.textContent = `Could not start scoring: ${(err as Error).message}`;
      return;
    }
    while (this.active < PARALLEL[scorer.where]) {
      const next = this.items.find((item) => item.state === 'waiting');
      if (!next) return;
      this.active++;
      next.state = 'scoring';
      next.where = scorer.where;
      this.render();
      void scorer
        .score(next.file)
        .then((outcome) => {
          next.outcome = outcome;
        })
        .catch((err: Error) => {
          next.outcome = {
            status: 'failed',
            error: { code: 'client', message: err.message ?? String(err) },
            threshold: this.options.threshold() ?? Number.NaN,
            model: { name: '', version: '' },
          };
        })
        .finally(() => {
          next.state = 'done';
          this.active--;
          this.render();
          void this.pump();
        });
    }
  }

  render(): void {
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.itemId;
    const rows = this.sorted();
    const attention = rows.filter(needsPerson);
    const rest = rows.filter((item) => !needsPerson(item));
    let rank = 0;
    const section = (title: string, note: string) =>
      h(
        'tr',
        { class: 'section-row' },
        h('th', { colspan: 5, scope: 'colgroup' }, title, h('span', { class: 'section-note' }, note)),
      );
    replaceChildren(
      this.options.table,
      rows.length === 0
        ? h(
            'tr',
            { class: 'empty' },
            h('td', { colspan: 5 }, 'No images yet. Drop X-rays above or try the samples.'),
          )
        : [
            attention.length > 0 ? section('Needs a person', ' — not scored; read these yourself') : null,
            ...attention.map((item) => this.row(item, ++rank)),
            attention.length > 0 && rest.length > 0
              ? section('Scored', ' — highest probability first')
              : null,
            ...rest.map((item) => this.row(item, isFinished(item) ? ++rank : null)),
          ],
    );
    if (focusedId) {
      this.options.table.querySelector<HTMLElement>(`[data-item-id="${focusedId}"]`)?.focus();
    }
    this.renderSummary();
    this.options.onChange?.();
  }

  private renderSummary(): void {
    const done = this.items.filter((item) => item.state === 'done' && item.outcome);
    const count = (status: string) => done.filter((item) => item.outcome!.status === status).length;
    const scored = count('scored');
    const flagged = done.filter((item) => item.outcome!.status === 'scored' && item.outcome!.flagged).length;
    const pending = this.items.length - done.length;
    const parts = [`${this.items.length} image${this.items.length === 1 ? '' : 's'}`];
    if (scored > 0) parts.push(`${scored} scored`, `${flagged} flagged`);
    if (count('rejected') > 0) parts.push(`${count('rejected')} rejected`);
    if (count('failed') > 0) parts.push(`${count('failed')} could not be read`);
    if (pending > 0) parts.push(`${pending} being scored`);
    if (this.duplicates > 0) {
      parts.push(`${this.duplicates} already in the list (not added again)`);
    }
    this.options.summary.textContent = this.items.length === 0 ? '' : parts.join(' · ');
  }

  private row(item: WorkItem, rank: number | null): HTMLTableRowElement {
    const open = () => this.options.onOpen(item);
    const finished = isFinished(item);
    const outcome = item.outcome;
    const status = finished ? (outcome?.status ?? 'failed') : 'pending';
    const flagged = outcome?.status === 'scored' && outcome.flagged === true;
    return h(
      'tr',
      {
        class: `row status-${status}${flagged ? ' flagged' : ''}`,
        tabindex: finished ? 0 : -1,
        'data-item-id': item.id,
        'data-name': item.file.name,
        'data-status': status,
        'data-where': item.where,
        'data-probability': outcome?.probability ?? null,
        'aria-label': rowLabel(item),
        onclick: finished ? open : null,
        onkeydown: (event: Event) => this.onRowKey(event as KeyboardEvent, item),
      },
      h('td', { class: 'rank' }, rank ?? ''),
      h('td', { class: 'thumb' }, thumbnail(item)),
      h(
        'td',
        { class: 'name' },
        h('span', { class: 'file-name', title: item.file.name }, item.file.name),
        h(
          'span',
          { class: 'file-meta' },
          fileSize(item.file.size),
          item.where === 'device' && finished ? ' · scored on this device' : '',
        ),
      ),
      h('td', { class: 'probability' }, probabilityCell(item, this.options.threshold())),
      h('td', { class: 'flag' }, flagCell(item)),
    );
  }

  private onRowKey(event: KeyboardEvent, item: WorkItem): void {
    const row = event.currentTarget as HTMLElement;
    if ((event.key === 'Enter' || event.key === ' ') && isFinished(item)) {
      event.preventDefault();
      this.options.onOpen(item);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const rows = [...this.options.table.querySelectorAll<HTMLElement>('tr.row[tabindex="0"]')];
      const next = rows[rows.indexOf(row) + (event.key === 'ArrowDown' ? 1 : -1)];
      next?.focus();
    }
  }
}

function rowLabel(item: WorkItem): string {
  const o = item.outcome;
  if (!isFinished(item) || !o) return `${item.file.name}: being scored`;
  if (o.status === 'scored' && o.probability !== undefined) {
    return `${item.file.name}: probability ${percent(o.probability)}, ${flagText(o.flagged === true)}. Press Enter for details.`;
  }
  if (o.status === 'rejected') {
    return `${item.file.name}: not scored, needs a person: ${o.reason ?? 'rejected'}. Press Enter for details.`;
  }
  return `${item.file.name}: could not be read, needs a person. Press Enter for details.`;
}

function thumbnail(item: WorkItem): HTMLElement {
  if (item.outcome?.thumbnail) return h('img', { src: item.outcome.thumbnail, alt: '', loading: 'lazy' });
  const failed = item.outcome && item.outcome.status !== 'scored';
  return h('div', { class: `thumb-placeholder${failed ? ' failed' : ''}`, 'aria-hidden': 'true' });
}

/** A horizontal bar with the probability filled in and a tick at the operating threshold. */
export function probabilityBar(probability: number, threshold: number | null): HTMLElement {
  const fill = h('div', {
    class: `bar-fill${threshold !== null && probability >= threshold ? ' flag' : ''}`,
  });
  fill.style.setProperty('width', `${(probability * 100).toFixed(2)}%`);
  const bar = h('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
  if (threshold !== null) {
    const tick = h('div', { class: 'bar-threshold', title: `threshold ${percent(threshold)}` });
    tick.style.setProperty('left', `${(threshold * 100).toFixed(2)}%`);
    bar.append(tick);
  }
  return bar;
}

function probabilityCell(item: WorkItem, threshold: number | null): Node | string {
  const o = item.outcome;
  if (isFinished(item) && o) {
    if (o.status === 'scored' && o.probability !== undefined) {
      return h(
        'div',
        { class: 'probability-cell' },
        probabilityBar(o.probability, threshold ?? o.threshold),
        h('span', { class: 'probability-value' }, percent(o.probability)),
      );
    }
    const text = o.status === 'rejected' ? (o.reason ?? 'rejected') : (o.error?.message ?? 'failed');
    return h('span', { class: 'error-text' }, text);
  }
  return h(
    'span',
    { class: 'pending' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    item.state === 'scoring' ? 'Scoring…' : 'Waiting…',
  );
}

function flagCell(item: WorkItem): Node | string {
  const o = item.outcome;
  if (!isFinished(item) || !o) return '';
  if (o.status === 'scored') {
    const flagged = o.flagged === true;
    return h('span', { class: `chip ${flagged ? 'chip-flag' : 'chip-quiet'}` }, flagText(flagged));
  }
  return h('span', { class: 'chip chip-error' }, o.status === 'rejected' ? 'Rejected' : 'Not read');
}
