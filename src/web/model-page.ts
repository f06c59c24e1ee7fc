/** The model page: what the loaded model is, its operating point, validation metrics, and its model card. */
import type { ModelInfo } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { calibrationText, metricValue, thresholdSentence, thresholdText } from './format.ts';
import { renderMarkdown } from './markdown.ts';

/** Flattens nested metric objects to dotted keys, skipping long arrays (curves) that a table cannot show. */
export function flattenMetrics(
  metrics: Record<string, unknown>,
  prefix = '',
  depth = 0,
): [string, unknown][] {
  const rows: [string, unknown][] = [];
  for (const [key, value] of Object.entries(metrics)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) {
      if (value.length <= 4 && value.every((v) => typeof v !== 'object'))
        rows.push([name, value.map(metricValue).join(', ')]);
    } else if (value !== null && typeof value === 'object') {
      if (depth < 2) rows.push(...flattenMetrics(value as Record<string, unknown>, name, depth + 1));
    } else {
      rows.push([name, value]);
    }
  }
  return rows;
}

function summaryList(model: ModelInfo): HTMLElement {
  const rows: [string, string][] = [
    ['Name', model.name],
    ['Version', model.version],
    ['Architecture', model.architecture],
    ['Created', model.createdAt],
    ['Input', `${model.imageSize} × ${model.imageSize} grey pixels (images are stretched to a square)`],
    ['Training images', String(model.trainingImages)],
  ];
  if (model.validationImages !== undefined) rows.push(['Validation images', String(model.validationImages)]);
  return h(
    'dl',
    { class: 'facts-list' },
    rows.flatMap(([key, value]) => [h('dt', {}, key), h('dd', {}, value)]),
  );
}

function metricsTable(model: ModelInfo): HTMLElement {
  const rows = model.metrics ? flattenMetrics(model.metrics) : [];
  if (rows.length === 0) return h('p', { class: 'muted' }, 'This model carries no validation metrics.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'metrics' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        rows.map(([key, value]) =>
          h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, metricValue(value))),
        ),
      ),
    ),
  );
}

export function renderModelPage(container: HTMLElement, model: ModelInfo | null, error?: string): void {
  if (!model) {
    replaceChildren(container, h('p', { class: 'error-text' }, error ?? 'Loading the model…'));
    return;
  }
  replaceChildren(
    container,
    h('h1', {}, `Model ${model.name} `, h('span', { class: 'muted' }, model.version)),
    h(
      'div',
      { class: 'model-grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Summary'), summaryList(model)),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Operating point'),
        h('p', { class: 'big-number' }, thresholdText(model.threshold)),
        h('p', {}, thresholdSentence(model)),
        h('p', {}, calibrationText(model)),
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Validation metrics'), metricsTable(model)),
    h(
      'section',
      { class: 'card model-card' },
      h('h2', {}, 'Model card'),
      model.modelCard
        ? h('div', { class: 'markdown' }, renderMarkdown(model.modelCard))
        : h('p', { class: 'muted' }, 'This model has no model card.'),
    ),
  );
}
