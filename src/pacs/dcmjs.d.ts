/** The few parts of dcmjs (which ships no types) that src/pacs uses. */
declare module 'dcmjs' {
  /** A data set in dcmjs's "naturalized" form: keyword → value, sequences as arrays of data sets. */
  export type NaturalDataSet = Record<string, unknown> & { _vrMap?: Record<string, string>; _meta?: unknown };

  export class DicomDict {
    constructor(meta: Record<string, unknown>);
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  const dcmjs: {
    data: {
      DicomDict: typeof DicomDict;
      DicomMessage: {
        readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict;
      };
      DicomMetaDictionary: {
        naturalizeDataset(dataSet: Record<string, unknown>): NaturalDataSet;
        denaturalizeDataset(dataSet: Record<string, unknown>): Record<string, unknown>;
        uid(): string;
      };
    };
  };
  export default dcmjs;
}
