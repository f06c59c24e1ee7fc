/**
 * The browser app's entry point: wires the upload controls, the worklist, the detail view and the model page,
 * and switches pages on the URL hash (#/ and #/model).
 */
import './styles.css';
import { fetchSample, getModel, listSamples, type ModelInfo } from './api.ts';
import { DetailView } from './detail.ts';
import { byId } from './dom.ts';
import { calibrationText, thresholdSentence } from './format.ts';
import { renderModelPage } from './model-page.ts';
import { Worklist } from './worklist.ts';

let model: ModelInfo | null = null;
let modelError: string | undefined;

const detail = new DetailView({ model: () => model, items: () => worklist.sorted() });
const worklist = new Worklist({
  table: byId<HTMLTableSectionElement>('worklist-body'),
  summary: byId('summary'),
  threshold: () => model?.threshold ?? null,
  onOpen: (item) => detail.open(item),
});

function showModel(info: ModelInfo): void {
  model = info;
  byId('model-badge').textContent = `Model ${info.name} ${info.version}`;
  byId('threshold-line').textContent = `${thresholdSentence(info)} ${calibrationText(info)}`;
  worklist.render();
  route();
}

function setupUploads(): void {
  const input = byId<HTMLInputElement>('file-input');
  byId('choose-button').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    if (input.files?.length) worklist.add([...input.files]);
    input.value = '';
  });

  const dropzone = byId('dropzone');
  let depth = 0;
  document.addEventListener('dragenter', (event) => {
    event.preventDefault();
    depth++;
    dropzone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropzone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    dropzone.classList.remove('dragging');
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) {
      location.hash = '#/';
      worklist.add(files);
    }
  });

  const samples = byId<HTMLButtonElement>('samples-button');
  samples.addEventListener('click', async () => {
    samples.disabled = true;
    try {
      const { samples: list } = await listSamples();
      worklist.add(await Promise.all(list.map((sample) => fetchSample(sample.url, sample.name))));
    } catch (err) {
      byId('summary').textContent = `Could not load the samples: ${(err as Error).message}`;
    } finally {
      samples.disabled = false;
    }
  });

  byId('clear-button').addEventListener('click', () => worklist.clear());
}

/** Shows the page named by the hash and marks the current nav link. */
function route(): void {
  const page = location.hash.startsWith('#/model') ? 'model' : 'worklist';
  byId('page-worklist').hidden = page !== 'worklist';
  byId('page-model').hidden = page !== 'model';
  for (const link of document.querySelectorAll<HTMLAnchorElement>('.topnav a[data-route]')) {
    if (link.dataset.route === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (page === 'model') renderModelPage(byId('page-model'), model, modelError);
  document.title = page === 'model' ? 'Model — Pneumoscope' : 'Pneumoscope — chest X-ray triage';
}

setupUploads();
window.addEventListener('hashchange', () => {
  route();
  byId('main').focus({ preventScroll: true });
});
route();
worklist.render();
getModel().then(showModel, (err: Error) => {
  modelError = `Could not load the model description: ${err.message}`;
  byId('model-badge').textContent = 'Model unavailable';
  route();
});
