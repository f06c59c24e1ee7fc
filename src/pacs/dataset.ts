/**
 * What every object Pneumoscope writes into a PACS shares: the patient and study attributes copied from the
 * source image (so it files under the same patient and study), who made it, and Part 10 encoding with dcmjs.
 */
import dcmjs, { type NaturalDataSet } from 'dcmjs';
import type { DicomJson } from '../dicomweb/json.ts';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Explicit VR Little Endian: what we write; every PACS accepts it. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation class UID (a fixed 2.25 UID) and name, written in the file meta information. */
const IMPLEMENTATION_CLASS_UID = '2.25.204896165848470315738245785452311419553';
const IMPLEMENTATION_VERSION_NAME = 'PNEUMOSCOPE';

/** Patient and study modules: copied as they are, so the new object belongs to the same patient and study. */
const COPIED_ATTRIBUTES = [
  'SpecificCharacterSet',
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'StudyID',
  'AccessionNumber',
  'ReferringPhysicianName',
  'StudyDescription',
] as const;

/** The source image as dcmjs reads it from WADO-RS metadata (DICOM JSON). */
export function naturalize(metadata: DicomJson): NaturalDataSet {
  return DicomMetaDictionary.naturalizeDataset(metadata as Record<string, unknown>);
}

/** Type 2 attributes of the patient and study modules are present even when the source lacks them. */
export function sourceAttributes(source: NaturalDataSet): NaturalDataSet {
  const copied: NaturalDataSet = {
    PatientName: '',
    PatientID: '',
    PatientBirthDate: '',
    PatientSex: '',
    StudyDate: '',
    StudyTime: '',
    StudyID: '',
    AccessionNumber: '',
    ReferringPhysicianName: '',
  };
  for (const key of COPIED_ATTRIBUTES) if (source[key] !== undefined) copied[key] = source[key];
  return copied;
}

/** DICOM DA and TM values of `date` in local time. */
export function dicomDateTime(date: Date): { date: string; time: string } {
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`,
    time: `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`,
  };
}

/** Attributes naming Pneumoscope and the model as the maker of an object. */
export function equipmentAttributes(model: { name: string; version: string }): NaturalDataSet {
  return {
    Manufacturer: 'Pneumoscope',
    ManufacturerModelName: model.name,
    SoftwareVersions: model.version,
  };
}

/** A DS value: at most 16 characters, as DICOM requires. */
export function decimalString(value: number, digits = 6): string {
  return Number(value.toFixed(digits)).toString().slice(0, 16);
}

/** Encodes a natural data set as a DICOM Part 10 file (Explicit VR Little Endian). */
export function toPart10(dataSet: NaturalDataSet): Uint8Array {
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataSet.SOPClassUID,
    MediaStorageSOPInstanceUID: dataSet.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataSet);
  return new Uint8Array(dict.write());
}

/** Reads a Part 10 file back into a natural data set (tests, and checking what a PACS holds). */
export function fromPart10(bytes: Uint8Array): NaturalDataSet {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const dict = dcmjs.data.DicomMessage.readFile(copy);
  return DicomMetaDictionary.naturalizeDataset(dict.dict);
}
