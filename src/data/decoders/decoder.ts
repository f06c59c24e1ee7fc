/** The contract of a format decoder: what src/data/decode.ts expects of every entry in the decoder list. */
import type { GrayImage } from '../../core/types.ts';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (width x height). */
  maxPixels?: number;
}

/** A decoded image plus anything the user should know about how it was read. */
export interface DecodedImage extends GrayImage {
  /** Which decoder read it (`jpeg`, `png`, `dicom`, ...). */
  format: string;
  /** Non-fatal notes, e.g. "multi-frame DICOM: using frame 1 of 3". Never contains patient identifiers. */
  warnings: string[];
}

/** A format decoder: `sniff` looks at the first bytes, `decode` returns full-size grey pixels or throws DecodeError. */
export interface ImageDecoder {
  name: string;
  sniff(bytes: Uint8Array): boolean;
  decode(bytes: Uint8Array, options: Required<DecodeOptions>): Promise<DecodedImage>;
}
