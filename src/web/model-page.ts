/** The model page: what the loaded model is, its operating point, validation metrics, and its model card. */
import type { ModelInfo } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { calibrationText, thresholdSentence, thresholdText } from './format.ts';
import { renderMarkdown } from './markdown.ts';
import { renderMetrics } from './metrics-view.ts';

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
    h('section', { class: 'card' }, h('h2', {}, 'Validation metrics'), renderMetrics(model.metrics)),
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
