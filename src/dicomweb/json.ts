/** The DICOM JSON model (PS3.18 F.2) as QIDO-RS and WADO-RS metadata return it: tag → { vr, Value }. */

export interface DicomJsonElement {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

export type DicomJson = Record<string, DicomJsonElement>;

/** Tags this module and its callers read, as DICOM JSON keys (upper-case hex, no comma). */
export const TAGS = {
  sopClassUid: '00080016',
  sopInstanceUid: '00080018',
  modality: '00080060',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  failedSopSequence: '00081198',
  failureReason: '00081197',
} as const;

/** The first value of `tag` as a string, or undefined when it is absent or empty. */
export function stringValue(dataSet: DicomJson, tag: string): string | undefined {
  const value = dataSet[tag]?.Value?.[0];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') {
    // Person names are { Alphabetic: … }; callers that want names read them through dcmjs, never here.
    return undefined;
  }
  const text = String(value).trim();
  return text === '' ? undefined : text;
}
