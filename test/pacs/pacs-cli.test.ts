/**
 * `cxr pacs` end to end against a real Orthanc: score, SR write-back into the same studies, idempotence (SR in the
 * study, state file), non-image instances, PACS errors (down, 5xx) and --watch stopping cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DicomWebClient, type InstanceRef } from '../../src/dicomweb/client.ts';
import { fromPart10 } from '../../src/pacs/dataset.ts';
import { readTriageSr } from '../../src/pacs/sr.ts';
import { cxr, cxrInBackground } from '../helpers/cli.ts';
import { freePort, type OrthancServer, startOrthanc, startRedis } from '../helpers/services.ts';
import { saveTinyModel, seededModel, type TinyModelDir } from '../predict/tiny-model.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'pacs');
const IMAGES = ['cr-jpeg-baseline.dcm', 'dx-uncompressed.dcm', 'cr-uncompressed.dcm'];
/** Every fake identifier the fixtures carry (scripts/make-dicom-fixtures.sh). */
const PHI = ['SECRET', 'DOE', 'JANE', '19010203', '4711', 'REFERRER', 'HOSPITAL'];

interface Row {
  path: string;
  study: string;
  series: string;
  instance: string;
  probability: number | null;
  label: string | null;
  error: { code: string; message: string } | null;
}

let orthanc: OrthancServer;
let model: TinyModelDir;
let work: string;

async function upload(...names: string[]) {
  await orthanc.upload(await Promise.all(names.map((name) => readFile(path.join(FIXTURES, name)))));
}

function auth(url = orthanc.dicomWeb) {
  return ['--url', url, '--user', orthanc.user, '--password', orthanc.password, '--model', model.dir];
}

async function instances(query: { modality?: string; study?: string }): Promise<InstanceRef[]> {
  const client = new DicomWebClient({
    url: orthanc.dicomWeb,
    user: orthanc.user,
    password: orthanc.password,
  });
  const out: InstanceRef[] = [];
  for await (const ref of client.searchInstances(query)) out.push(ref);
  return out;
}

before(async () => {
  model = await saveTinyModel({ backend: 'wasm', model: seededModel });
  work = await mkdtemp(path.join(os.tmpdir(), 'cxr-pacs-cli-'));
});

after(async () => {
  await orthanc?.stop();
  await model?.cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('cxr pacs', () => {
  test('three CR/DX images: scored, SRs stored in the same studies, no patient name out; a rerun scores nothing', async () => {
    orthanc = await startOrthanc();
    await upload(...IMAGES);
    const out = path.join(work, 'worklist.json');
    const run = await cxr([
      'pacs',
      ...auth(),
      '--once',
      '--write-back',
      'sr',
      '--format',
      'json',
      '--out',
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /scored 3 of 3 new instances, sr stored for 3; 0 already done/);
    const text = await readFile(out, 'utf8');
    const rows = JSON.parse(text) as Row[];
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.path, `studies/${row.study}/series/${row.series}/instances/${row.instance}`);
      assert.equal(row.error, null);
      assert.ok(row.probability !== null && row.probability >= 0 && row.probability <= 1);
    }
    for (const where of [run.stdout, run.stderr, text]) {
      for (const secret of PHI) assert.ok(!where.includes(secret), `"${secret}" leaked`);
    }

    // Same probabilities as a local `cxr predict` of the same files.
    const local = await cxr([
      'predict',
      '--model',
      model.dir,
      '--json',
      ...IMAGES.map((f) => path.join(FIXTURES, f)),
    ]);
    assert.equal(local.code, 0, local.stderr);
    const localRows = JSON.parse(local.stdout) as Row[];
    for (const row of localRows) {
      const uid = fromPart10(new Uint8Array(await readFile(row.path))).SOPInstanceUID;
      assert.equal(rows.find((r) => r.instance === uid)?.probability, row.probability);
    }

    // Orthanc now holds one SR per image, in the image's study, carrying the row's probability and our model.
    const srs = await instances({ modality: 'SR' });
    assert.equal(srs.length, 3);
    const client = new DicomWebClient({
      url: orthanc.dicomWeb,
      user: orthanc.user,
      password: orthanc.password,
    });
    for (const sr of srs) {
      const content = readTriageSr(fromPart10(await client.retrieveInstance(sr)));
      const row = rows.find((r) => r.instance === content.referencedInstances[0])!;
      assert.equal(sr.study, row.study);
      assert.equal(content.probability, row.probability);
      assert.equal(content.modelVersion, model.metadata.version);
      assert.equal(content.flagged, row.label === 'PNEUMONIA');
    }

    const again = await cxr(['pacs', ...auth(), '--once', '--write-back', 'sr', '--format', 'json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), []);
    assert.match(again.stderr, /3 already done/);
    assert.equal((await instances({ modality: 'SR' })).length, 3);
  });

  test('state file: a non-image instance is a per-instance error (exit 2), remembered, not fetched again', async () => {
    await upload('cr-no-pixel-data.dcm');
    const state = path.join(work, 'state.json');
    const run = await cxr(['pacs', ...auth(), '--state', state, '--format', 'csv']);
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(
      lines[0],
      'path,study,series,instance,status,probability,label,flag,rank,threshold,model,reason,error',
    );
    assert.equal(lines.length, 5);
    // Rows that need a person come first.
    assert.match(
      lines[1],
      /instances\/2\.25\.3000000000000000000000000000000004,2\.25\.1000000000000000000000000000000002,2\.25\.2000000000000000000000000000000004,2\.25\.3000000000000000000000000000000004,failed,,,,1,0\.5,tiny-test-model 0\.0\.0-test,.*,"?unsupported: /,
    );
    assert.match(
      run.stderr,
      /failed studies\/.*instances\/2\.25\.3000000000000000000000000000000004: unsupported: /,
    );
    const saved = JSON.parse(await readFile(state, 'utf8'));
    const entries = saved.models[`${model.metadata.name}@${model.metadata.version}`];
    assert.equal(Object.keys(entries).length, 4);
    assert.equal(entries['2.25.3000000000000000000000000000000004'].outcome, 'rejected');
    assert.ok(!JSON.stringify(saved).includes('SECRET'));

    const again = await cxr(['pacs', ...auth(), '--state', state]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /4 instance\(s\) found, 4 already scored/);
  });

  test('PACS errors: down → exit 1 with a clear message; a 5xx on one instance → its row, the rest scored', async () => {
    const down = await cxr([
      'pacs',
      ...auth(`http://127.0.0.1:${await freePort()}/dicom-web`),
      '--retries',
      '1',
    ]);
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /QIDO-RS search: cannot reach the PACS \(ECONNREFUSED\) \(after 2 attempts\); nothing was scored/,
    );

    // A proxy in front of Orthanc: one instance always answers 500, another answers 503 once (retried).
    const target = new URL(orthanc.url);
    let flaky = 0;
    const proxy = http.createServer((req, res) => {
      if (
        req.url?.includes('instances/2.25.3000000000000000000000000000000001') &&
        !req.url.endsWith('metadata')
      ) {
        res.writeHead(500).end();
        return;
      }
      if (req.url?.includes('instances/2.25.3000000000000000000000000000000002') && flaky++ === 0) {
        res.writeHead(503).end();
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    try {
      const run = await cxr([
        'pacs',
        ...auth(`http://127.0.0.1:${port}/dicom-web`),
        '--json',
        '--retries',
        '2',
      ]);
      assert.equal(run.code, 2, run.stderr);
      const rows = JSON.parse(run.stdout) as Row[];
      const broken = rows.find((r) => r.instance === '2.25.3000000000000000000000000000000001')!;
      assert.equal(broken.error?.code, 'unreadable');
      assert.match(broken.error!.message, /WADO-RS retrieve: PACS answered HTTP 500 .*\(after 3 attempts\)/);
      assert.equal(rows.find((r) => r.instance === '2.25.3000000000000000000000000000000002')?.error, null);
      assert.equal(rows.filter((r) => r.error === null).length, 2);
    } finally {
      proxy.close();
    }
  });

  test('--watch scores what arrives (SR and overlay stored), and SIGTERM ends it cleanly with exit 0', async () => {
    await orthanc?.stop();
    orthanc = await startOrthanc();
    const out = path.join(work, 'watch.json');
    const watch = cxrInBackground([
      'pacs',
      ...auth(),
      '--watch',
      '--interval',
      '1',
      '--write-back',
      'sr,heatmap',
      '--json',
      '--out',
      out,
    ]);
    try {
      await watch.waitForStderr(/watching/);
      await upload('dx-uncompressed.dcm');
      await watch.waitForStderr(/scored 1 of 1 new instances/);
      const rows = JSON.parse(await readFile(out, 'utf8')) as Row[];
      assert.equal(rows.length, 1);
      watch.child.kill('SIGTERM');
      const done = await watch.exited;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stderr, /SIGTERM: finishing the images in flight[\s\S]*stopped/);
      assert.equal((await instances({ modality: 'SR' })).length, 1);
      // The Grad-CAM overlay, as a Secondary Capture in the same study.
      const [overlay] = await instances({ modality: 'OT' });
      assert.equal(overlay.study, rows[0].study);
      assert.equal(overlay.sopClass, '1.2.840.10008.5.1.4.1.1.7');
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  test('--queue: a `cxr worker` retrieves the instances itself; same rows as a local run, SRs stored', async () => {
    await orthanc?.stop();
    orthanc = await startOrthanc();
    await upload(...IMAGES);
    const redis = await startRedis();
    const credentials = { CXR_PACS_USER: orthanc.user, CXR_PACS_PASSWORD: orthanc.password };
    const worker = cxrInBackground(['worker', '--redis', redis.url, '--model', model.dir], credentials);
    try {
      await worker.waitForStderr(/ready:/);
      const args = ['pacs', '--url', orthanc.dicomWeb, '--model', model.dir, '--json'];
      const queued = await cxr([...args, '--queue', redis.url, '--write-back', 'sr'], credentials);
      assert.equal(queued.code, 0, queued.stderr);
      const local = await cxr(args, credentials);
      assert.equal(local.code, 0, local.stderr);
      const rows = JSON.parse(queued.stdout) as Row[];
      assert.equal(rows.length, 3);
      assert.deepEqual(rows, JSON.parse(local.stdout));
      assert.equal((await instances({ modality: 'SR' })).length, 3);
    } finally {
      worker.child.kill('SIGKILL');
      await worker.exited;
      await redis.stop();
    }
  });
});
