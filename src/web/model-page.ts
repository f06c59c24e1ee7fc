/** The model page: what the loaded model is, its operating point and calibration, every measurement of it, its card. */
import type { ModelInfo } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { renderEvaluations } from './evaluations-view.ts';
import { calibrationText, thresholdSentence } from './format.ts';
import { renderMarkdown } from './markdown.ts';

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

function operatingPoint(model: ModelInfo): HTMLElement {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Operating point'),
    h('p', { class: 'big-number' }, `≥ ${(model.threshold * 100).toFixed(1)}%`),
    h('p', {}, thresholdSentence(model)),
    h(
      'dl',
      { class: 'facts-list' },
      h('dt', {}, 'Threshold'),
      h('dd', {}, h('code', {}, model.threshold.toFixed(4))),
      h('dt', {}, 'How it was chosen'),
      h('dd', {}, h('code', { class: 'wrap' }, model.thresholdRule)),
      h('dt', {}, 'Calibration'),
      h('dd', {}, calibrationText(model)),
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
      operatingPoint(model),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Performance'), renderEvaluations(model)),
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
