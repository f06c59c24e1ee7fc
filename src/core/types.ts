/**
 * The data types every stage of the pipeline shares. Keep this file small: it is the contract between
 * `data`, `model`, `train`, `evaluate`, `predict` and `serve`, and it imports nothing.
 */

/** Class names in model-output order: index 1 is the positive class. */
export const CLASS_NAMES = ['NORMAL', 'PNEUMONIA'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];
export const POSITIVE_CLASS: ClassName = 'PNEUMONIA';

/** Name of a dataset split folder. `all` is used for a dataset with no split folders. */
export type SplitName = 'train' | 'val' | 'test' | 'all';

/** Pneumonia subtype encoded in the Kaggle file names; `null` for NORMAL or unknown. */
export type Subtype = 'bacteria' | 'virus' | null;

/** One image found on disk, with everything its path tells us. */
export interface ImageRecord {
  /** Absolute path. */
  path: string;
  split: SplitName;
  label: ClassName;
  /** 0 = NORMAL, 1 = PNEUMONIA. */
  labelIndex: 0 | 1;
  /** Patient ID parsed from the file name; the file name itself when no pattern matches. */
  patientId: string;
  subtype: Subtype;
  /** File size in bytes and modification time, used as the cache key. */
  size: number;
  mtimeMs: number;
}

/** A file that could not be used, with a reason a person can act on. */
export interface BadFile {
  path: string;
  reason: string;
}

/** A decoded single-channel 8-bit image, row-major, `data.length === width * height`. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Counts and hash of a training file list, so a model can be traced to the data it saw. */
export interface DataFingerprint {
  count: number;
  /** sha256 over the sorted list of "relative path\tsize" lines. */
  sha256: string;
  /** Per class image counts. */
  classCounts: Record<ClassName, number>;
}
