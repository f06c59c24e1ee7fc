/**
 * DICOM transfer syntaxes (PS3.6 Annex A): how the data set and its pixels are encoded, and which ones the DICOM
 * decoder reads. Kept as a table so an unsupported file's error names the syntax a person can look up.
 */

/** How the pixel data of a transfer syntax is stored. */
export type PixelEncoding =
  | 'native' // uncompressed, in the data set's byte order
  | 'jpeg-baseline' // encapsulated frames that are ordinary 8-bit JPEG files
  | 'jpeg-lossless' // encapsulated JPEG process 14 frames (jpeg-lossless-decoder-js)
  | 'unsupported';

export interface TransferSyntax {
  uid: string;
  name: string;
  /** Byte order of the data set and of native pixel data. */
  littleEndian: boolean;
  encoding: PixelEncoding;
}

const LE = true;

/** Every syntax a modality or PACS commonly writes, supported or not. */
export const TRANSFER_SYNTAXES: readonly TransferSyntax[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', littleEndian: LE, encoding: 'native' },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', littleEndian: LE, encoding: 'native' },
  {
    uid: '1.2.840.10008.1.2.1.99',
    name: 'Deflated Explicit VR Little Endian',
    littleEndian: LE,
    encoding: 'native',
  },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian', littleEndian: false, encoding: 'native' },
  {
    uid: '1.2.840.10008.1.2.4.50',
    name: 'JPEG Baseline (Process 1)',
    littleEndian: LE,
    encoding: 'jpeg-baseline',
  },
  {
    uid: '1.2.840.10008.1.2.4.51',
    name: 'JPEG Extended (Process 2 & 4)',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.57',
    name: 'JPEG Lossless, Non-Hierarchical (Process 14)',
    littleEndian: LE,
    encoding: 'jpeg-lossless',
  },
  {
    uid: '1.2.840.10008.1.2.4.70',
    name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
    littleEndian: LE,
    encoding: 'jpeg-lossless',
  },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', littleEndian: LE, encoding: 'unsupported' },
  {
    uid: '1.2.840.10008.1.2.4.81',
    name: 'JPEG-LS Lossy (Near-Lossless)',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.90',
    name: 'JPEG 2000 Image Compression (Lossless Only)',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.91',
    name: 'JPEG 2000 Image Compression',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.201',
    name: 'High-Throughput JPEG 2000 (Lossless Only)',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.203',
    name: 'High-Throughput JPEG 2000',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', littleEndian: LE, encoding: 'unsupported' },
  {
    uid: '1.2.840.10008.1.2.4.100',
    name: 'MPEG2 Main Profile / Main Level',
    littleEndian: LE,
    encoding: 'unsupported',
  },
  {
    uid: '1.2.840.10008.1.2.4.102',
    name: 'MPEG-4 AVC/H.264 High Profile',
    littleEndian: LE,
    encoding: 'unsupported',
  },
];

const BY_UID = new Map(TRANSFER_SYNTAXES.map((s) => [s.uid, s]));

/** The table entry for `uid`; an unknown UID is reported as unsupported under its own number. */
export function transferSyntax(uid: string): TransferSyntax {
  return (
    BY_UID.get(uid) ?? { uid, name: 'unknown transfer syntax', littleEndian: LE, encoding: 'unsupported' }
  );
}

/** The syntaxes the decoder reads, for `--help` and documentation. */
export function supportedTransferSyntaxes(): TransferSyntax[] {
  return TRANSFER_SYNTAXES.filter((s) => s.encoding !== 'unsupported');
}

const ENCODING_NAMES: Record<Exclude<PixelEncoding, 'unsupported'>, string> = {
  native: 'uncompressed (implicit/explicit VR little endian, big endian, deflated)',
  'jpeg-baseline': 'JPEG baseline',
  'jpeg-lossless': 'JPEG lossless (process 14)',
};

/** A one-line summary of what the decoder reads, for error messages. */
export function supportedEncodingsSummary(): string {
  const encodings = new Set(supportedTransferSyntaxes().map((s) => s.encoding));
  return [...encodings].map((e) => ENCODING_NAMES[e as keyof typeof ENCODING_NAMES]).join(', ');
}
