import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseImageName } from '../../src/data/names.ts';

test('person names give the patient and the pneumonia subtype', () => {
  assert.deepEqual(parseImageName('person123_bacteria_456.jpeg'), {
    patientId: 'person123',
    subtype: 'bacteria',
  });
  assert.deepEqual(parseImageName('person1000_virus_1681.jpeg'), {
    patientId: 'person1000',
    subtype: 'virus',
  });
  assert.deepEqual(parseImageName('person447_virus_921_1.jpeg'), {
    patientId: 'person447',
    subtype: 'virus',
  });
  assert.deepEqual(parseImageName('/data/train/PNEUMONIA/person3_bacteria_10.jpeg'), {
    patientId: 'person3',
    subtype: 'bacteria',
  });
  assert.deepEqual(parseImageName('PERSON5_Bacteria_15.JPEG'), { patientId: 'PERSON5', subtype: 'bacteria' });
});

test('IM names give the patient without the image number', () => {
  assert.deepEqual(parseImageName('IM-0115-0001.jpeg'), { patientId: 'IM-0115', subtype: null });
  assert.deepEqual(parseImageName('IM-0429-0001-0002.jpeg'), { patientId: 'IM-0429', subtype: null });
  assert.deepEqual(parseImageName('NORMAL2-IM-0372-0001.jpeg'), {
    patientId: 'NORMAL2-IM-0372',
    subtype: null,
  });
  assert.deepEqual(parseImageName('IM-0122-0001.png'), { patientId: 'IM-0122', subtype: null });
});

test('unknown patterns fall back to one patient per file', () => {
  assert.deepEqual(parseImageName('scan_2024_01.jpeg'), { patientId: 'scan_2024_01.jpeg', subtype: null });
  assert.deepEqual(parseImageName('person12_fungus_3.jpeg'), {
    patientId: 'person12_fungus_3.jpeg',
    subtype: null,
  });
  assert.deepEqual(parseImageName('IM-0115.jpeg'), { patientId: 'IM-0115.jpeg', subtype: null });
  assert.notEqual(parseImageName('a.jpeg').patientId, parseImageName('b.jpeg').patientId);
});
