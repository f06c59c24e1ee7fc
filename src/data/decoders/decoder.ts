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
  /** How colourful the picture was before grey conversion (0 = grey; src/data/colour.ts). */
  colourfulness: number;
  /** What a DICOM file says it shows, when it says so (read by the input gate). */
  dicom?: DicomAttributes;
}

/**
 * The DICOM attributes that say what an image shows, as sanitised coded strings (upper-case letters, digits,
 * spaces and underscores only). None of them identifies a patient; absent attributes are left out.
 */
export interface DicomAttributes {
  /** Modality (0008,0060), e.g. CR, DX, CT. */
  modality?: string;
  /** Body Part Examined (0018,0015), e.g. CHEST. */
  bodyPart?: string;
  /** View Position (0018,5101), e.g. PA, AP, LL. */
  viewPosition?: string;
}

/** A format decoder: `sniff` looks at the first bytes, `decode` returns full-size grey pixels or throws DecodeError. */
export interface ImageDecoder {
  name: string;
  sniff(bytes: Uint8Array): boolean;
  decode(bytes: Uint8Array, options: Required<DecodeOptions>): Promise<DecodedImage>;
}
