/**
 * The browser app's entry point: wires the upload controls, the scorer (the server, or this device with
 * `?on-device=1` or the "Score on this device" switch), the worklist, the detail view and the model page, and
 * switches pages on the URL hash (#/ and #/model).
 */
import './styles.css';
import { fetchSample, getModel, listSamples, type ModelInfo } from './api.ts';
import { DetailView } from './detail.ts';
import { byId } from './dom.ts';
import { thresholdSentence } from './format.ts';
import { worklistCsv } from './items.ts';
import { renderModelPage } from './model-page.ts';
import { type Scorer, ServerScorer } from './scoring.ts';
import { Worklist } from './worklist.ts';

let model: ModelInfo | null = null;
let modelError: string | undefined;

const serverScorer = new ServerScorer(() => model);
let deviceScorer: Promise<Scorer> | null = null;
let onDevice = new URLSearchParams(location.search).get('on-device') === '1';

/** Loads the on-device scorer once (its own chunk: TF.js and the model code). */
function loadDeviceScorer(): Promise<Scorer> {
  if (!deviceScorer) {
    setDeviceStatus('Loading the model into this browser…');
    deviceScorer = import('./device.ts')
      .then(({ DeviceScorer }) => DeviceScorer.load())
      .then((scorer) => {
        const notes = scorer.warnings.length > 0 ? ` (${scorer.warnings.join('; ')})` : '';
        setDeviceStatus(`Scoring on this device: images do not leave this machine.${notes}`);
        return scorer as Scorer;
      });
    deviceScorer.catch((err: Error) => {
      deviceScorer = null;
      setOnDevice(false);
      setDeviceStatus(`On-device scoring is unavailable: ${err.message}. Scoring on the server.`);
    });
  }
  return deviceScorer;
}

function currentScorer(): Promise<Scorer> {
  return onDevice ? loadDeviceScorer() : Promise.resolve(serverScorer);
}

function setDeviceStatus(text: string): void {
  byId('device-status').textContent = text;
}

function setOnDevice(value: boolean): void {
  onDevice = value;
  byId<HTMLInputElement>('device-switch').checked = value;
  document.body.classList.toggle('on-device', value);
  const url = new URL(location.href);
  if (value) url.searchParams.set('on-device', '1');
  else url.searchParams.delete('on-device');
  history.replaceState(null, '', url);
  byId('privacy-line').textContent = value
    ? 'Images are scored in this browser and never leave this machine.'
    : 'Images are processed in memory on this server and never stored.';
}

const detail = new DetailView({
  model: () => model,
  items: () => worklist.sorted(),
  scorerFor: (item) => (item.where === 'device' ? loadDeviceScorer() : Promise.resolve(serverScorer)),
});
const worklist = new Worklist({
  table: byId<HTMLTableSectionElement>('worklist-body'),
  summary: byId('summary'),
  threshold: () => model?.threshold ?? null,
  scorer: currentScorer,
  onOpen: (item) => detail.open(item),
  onChange: () => {
    byId<HTMLButtonElement>('export-button').disabled = !worklist.items.some((item) => item.state === 'done');
  },
});

function showModel(info: ModelInfo): void {
  model = info;
  byId('model-badge').textContent = `Model ${info.name} ${info.version}`;
  byId('threshold-line').textContent = thresholdSentence(info);
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
  let samplesLoading = false;
  samples.addEventListener('click', async () => {
    // aria-disabled, not disabled: a disabled button drops keyboard focus to <body>.
    if (samplesLoading) return;
    samplesLoading = true;
    samples.setAttribute('aria-disabled', 'true');
    try {
      const { samples: list } = await listSamples();
      // The same sample files as before (same name, size, date) are recognised and not added twice.
      worklist.add(await Promise.all(list.map((sample) => fetchSample(sample.url, sample.name, sampleDate))));
    } catch (err) {
      byId('summary').textContent = `Could not load the samples: ${(err as Error).message}`;
    } finally {
      samplesLoading = false;
      samples.removeAttribute('aria-disabled');
    }
  });

  byId('clear-button').addEventListener('click', () => worklist.clear());
  byId('export-button').addEventListener('click', () => {
    const csv = worklistCsv(worklist.items);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    link.download = `worklist-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });

  const deviceSwitch = byId<HTMLInputElement>('device-switch');
  deviceSwitch.addEventListener('change', () => {
    setOnDevice(deviceSwitch.checked);
    if (deviceSwitch.checked) void loadDeviceScorer().catch(() => {});
    else setDeviceStatus('');
  });
}

/** One fixed date for sample files, so fetching the samples again yields the same files. */
const sampleDate = Date.UTC(2018, 0, 1);

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
setOnDevice(onDevice);
if (onDevice) void loadDeviceScorer().catch(() => {});
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
// Keep the app (and, once loaded, the model and WebAssembly) for offline use.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => {});
}
