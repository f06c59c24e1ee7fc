/** The DICOMweb client and the SR/overlay builders against a real Orthanc: QIDO paging, WADO, STOW round trips. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DicomWebClient, type DicomWebError } from '../../src/dicomweb/client.ts';
import { fromPart10, naturalize, toPart10 } from '../../src/pacs/dataset.ts';
import { buildHeatmapCapture } from '../../src/pacs/secondary-capture.ts';
import { buildTriageSr, readTriageSr, TRIAGE_DISCLAIMER } from '../../src/pacs/sr.ts';
import { derivedInstanceUid } from '../../src/pacs/uids.ts';
import { freePort, type OrthancServer, startOrthanc } from '../helpers/services.ts';

const PACS_FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'pacs');
const IMAGES = ['cr-jpeg-baseline.dcm', 'dx-uncompressed.dcm', 'cr-uncompressed.dcm'];
const model = { name: 'tiny-test-model', version: '0.0.0-test' };

let orthanc: OrthancServer;
let client: DicomWebClient;

before(async () => {
  orthanc = await startOrthanc();
  client = new DicomWebClient({ url: orthanc.dicomWeb, user: orthanc.user, password: orthanc.password });
  await orthanc.upload(await Promise.all(IMAGES.map((f) => readFile(path.join(PACS_FIXTURES, f)))));
});

after(async () => {
  await orthanc?.stop();
});

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('DICOMweb client against Orthanc', () => {
  test('QIDO-RS finds instances by modality and date, across pages', async () => {
    const cr = await all(client.searchInstances({ modality: 'CR', studyDate: '20240101-' }, 1));
    assert.deepEqual(cr.map((r) => r.instance).sort(), [
      '2.25.3000000000000000000000000000000001',
      '2.25.3000000000000000000000000000000003',
    ]);
    assert.equal(cr[0].modality, 'CR');
    const dx = await all(client.searchInstances({ modality: 'DX' }));
    assert.equal(dx.length, 1);
    assert.equal(dx[0].study, '2.25.1000000000000000000000000000000001');
    assert.deepEqual(await all(client.searchInstances({ modality: 'CR', studyDate: '20250101-' })), []);
  });

  test('WADO-RS retrieves the instance as stored, and its metadata', async () => {
    const [ref] = await all(client.searchInstances({ modality: 'DX' }));
    const bytes = await client.retrieveInstance(ref);
    const original = await readFile(path.join(PACS_FIXTURES, 'dx-uncompressed.dcm'));
    assert.equal(String.fromCharCode(...bytes.subarray(128, 132)), 'DICM');
    assert.equal(fromPart10(bytes).SOPInstanceUID, fromPart10(new Uint8Array(original)).SOPInstanceUID);
    const meta = naturalize(await client.retrieveMetadata(ref));
    assert.equal(meta.StudyInstanceUID, ref.study);
  });

  test('SR and overlay: built with dcmjs, stored with STOW-RS in the same study, read back', async () => {
    const [ref] = await all(
      client.searchInstances({ modality: 'CR', study: '2.25.1000000000000000000000000000000001' }),
    );
    const source = naturalize(await client.retrieveMetadata(ref));
    const sr = buildTriageSr(source, { probability: 0.734512, threshold: 0.5, flagged: true, model });
    const png = await sharp({ create: { width: 6, height: 4, channels: 3, background: '#c04020' } })
      .png()
      .toBuffer();
    const overlay = await buildHeatmapCapture(source, new Uint8Array(png), model);
    await client.store(ref.study, [toPart10(sr), toPart10(overlay)]);

    const srs = await all(client.searchInstances({ study: ref.study, modality: 'SR' }));
    assert.equal(srs.length, 1);
    assert.equal(srs[0].instance, derivedInstanceUid('sr', ref.instance, model));
    assert.notEqual(srs[0].series, ref.series);
    const stored = fromPart10(await client.retrieveInstance(srs[0]));
    assert.equal(stored.StudyInstanceUID, ref.study);
    assert.equal(stored.Modality, 'SR');
    assert.deepEqual(readTriageSr(stored), {
      probability: 0.734512,
      threshold: 0.5,
      flagged: true,
      modelName: model.name,
      modelVersion: model.version,
      comment: TRIAGE_DISCLAIMER,
      referencedInstances: [ref.instance],
    });
    const [capture] = await all(client.searchInstances({ study: ref.study, modality: 'OT' }));
    const image = fromPart10(await client.retrieveInstance(capture));
    assert.equal(image.Rows, 4);
    assert.equal(image.Columns, 6);
    assert.equal(image.PhotometricInterpretation, 'RGB');

    // Storing the same result again replaces it: the UIDs are derived, so nothing is duplicated.
    await client.store(ref.study, [toPart10(sr)]);
    assert.equal((await all(client.searchInstances({ study: ref.study, modality: 'SR' }))).length, 1);
  });

  test('errors: 404 fails at once, a PACS that is down is retried then reported clearly', async () => {
    const missing = { study: '2.25.1', series: '2.25.2', instance: '2.25.3' };
    await assert.rejects(client.retrieveInstance(missing), (err: DicomWebError) => {
      assert.equal(err.code, 'pacs-http');
      assert.equal(err.status, 404);
      assert.doesNotMatch(err.message, /attempts/);
      return true;
    });
    const down = new DicomWebClient({ url: `http://127.0.0.1:${await freePort()}/dicom-web`, backoffMs: 5 });
    await assert.rejects(all(down.searchInstances({ modality: 'CR' })), (err: DicomWebError) => {
      assert.equal(err.code, 'pacs-unreachable');
      assert.match(
        err.message,
        /QIDO-RS search: cannot reach the PACS \(ECONNREFUSED\) \(after 4 attempts\)/,
      );
      return true;
    });
    const wrongPassword = new DicomWebClient({ url: orthanc.dicomWeb, user: 'cxr', password: 'wrong' });
    await assert.rejects(all(wrongPassword.searchInstances({})), /HTTP 401/);
  });
});
