/**
 * DICOM Part 10 files → 8-bit grey pixels, read with dicom-parser (no hand-written parser).
 *
 * Browser-safe: the two things that need a platform library, inflating a deflated data set and decoding a JPEG
 * baseline frame, come in as `DicomCodecs` (./dicom-codecs-node.ts on the server, the browser's own in
 * src/web), so the web app reads DICOM with this same module when it scores on the device.
 *
 * Patient privacy: this module reads only pixel-describing attributes (group 0028, the transfer syntax and the
 * pixel data) and three coded strings that say what the image shows (Modality, Body Part Examined, View
 * Position; sanitised, for the input gate). No value from any other element ever reaches a message, warning or
 * output, so names, IDs and birth dates cannot leak through errors.
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { ColourfulnessMeter } from '../colour.ts';
import { DecodeError } from '../decode-error.ts';
import type { DecodedImage, DecodeOptions, DicomAttributes, ImageDecoder } from './decoder.ts';
import {
  type DisplaySettings,
  frameByteLength,
  type PixelLayout,
  readNativeFrame,
  toDisplayPixels,
  type VoiWindow,
} from './dicom-pixels.ts';
import { decodeJpegLossless } from './jpeg-lossless.ts';
import { supportedEncodingsSummary, type TransferSyntax, transferSyntax } from './transfer-syntaxes.ts';

/** Tags as dicom-parser names them (xGGGGEEEE). */
const TAG = {
  transferSyntaxUid: 'x00020010',
  modality: 'x00080060',
  bodyPartExamined: 'x00180015',
  viewPosition: 'x00185101',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  planarConfiguration: 'x00280006',
  numberOfFrames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  highBit: 'x00280102',
  pixelRepresentation: 'x00280103',
  windowCenter: 'x00281050',
  windowWidth: 'x00281051',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  voiLutFunction: 'x00281056',
  pixelData: 'x7fe00010',
  floatPixelData: 'x7fe00008',
  doubleFloatPixelData: 'x7fe00009',
} as const;

const GREY = ['MONOCHROME1', 'MONOCHROME2'];
const COLOUR = ['RGB', 'YBR_FULL', 'YBR_FULL_422'];

/** Part 10 files carry "DICM" after a 128-byte preamble. */
export function isDicom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

/** dicom-parser throws strings or `{ exception }` objects; keep a short structural message. */
function parserMessage(err: unknown): string {
  const inner = (err as { exception?: unknown })?.exception ?? err;
  const text = inner instanceof Error ? inner.message : String(inner);
  return text.replace(/^dicomParser[.\w]*:?\s*/i, '').split('\n')[0];
}

/** What a platform supplies: raw-deflate inflation and JPEG baseline decoding. */
export interface DicomCodecs {
  /** Inflates a raw-deflate stream; throws a DecodeError 'too-large' when it would exceed `maxOutput` bytes. */
  inflateRaw(deflated: Uint8Array, maxOutput: number): Promise<Uint8Array>;
  /**
   * Decodes an encapsulated JPEG baseline frame to grey values by the pixel rule of src/data/decode.ts (colour
   * → BT.601 luma, no colour profile), with its colourfulness. Throws DecodeError.
   */
  decodeJpeg(
    frame: Uint8Array,
    maxPixels: number,
  ): Promise<{ width: number; height: number; values: Float32Array; colourfulness: number }>;
}

/** Thrown by the inflater hook to stop dicom-parser where the deflated data set starts. */
class DeflatedAt {
  constructor(readonly position: number) {}
}

function deflatedPosition(err: unknown): number | undefined {
  const inner = (err as { exception?: unknown })?.exception ?? err;
  return inner instanceof DeflatedAt ? inner.position : undefined;
}

/**
 * Parses the data set. A deflated one is inflated first (asynchronously, with a size cap so it cannot be a
 * decompression bomb) and parsed again from the inflated bytes.
 */
async function parseDataSet(bytes: Uint8Array, maxPixels: number, codecs: DicomCodecs): Promise<DataSet> {
  // Generous for a frame of maxPixels 16-bit RGB samples plus the header, still bounded.
  const maxInflated = maxPixels * 6 + 16 * 1024 * 1024;
  let inflated: Uint8Array | undefined;
  for (;;) {
    try {
      return dicomParser.parseDicom(
        bytes as dicomParser.ByteArray,
        {
          inflater: (array: Uint8Array, position: number) => {
            if (!inflated) throw new DeflatedAt(position);
            const full = new Uint8Array(position + inflated.length);
            full.set(array.subarray(0, position));
            full.set(inflated, position);
            return full;
          },
        } as dicomParser.ParseDicomOptions,
      );
    } catch (err) {
      const position = deflatedPosition(err);
      if (position !== undefined && !inflated) {
        inflated = await codecs.inflateRaw(bytes.subarray(position), maxInflated);
        continue;
      }
      if (err instanceof DecodeError) throw err;
      throw new DecodeError('corrupt', `corrupt or truncated DICOM: ${parserMessage(err)}`);
    }
  }
}

function unsupportedSyntax(syntax: TransferSyntax): DecodeError {
  return new DecodeError(
    'unsupported',
    `DICOM transfer syntax ${syntax.uid} (${syntax.name}) is not supported; readable: ${supportedEncodingsSummary()}`,
  );
}

/** A coded string value safe to show: only the characters a CS value may hold, and short. */
function codeString(value: string | undefined): string {
  return (value ?? '').replace(/[^A-Z0-9_ ]/g, '').slice(0, 16) || '(none)';
}

function requirePositive(dataSet: DataSet, tag: string, label: string): number {
  const value = dataSet.uint16(tag);
  if (!value || value <= 0) throw new DecodeError('corrupt', `DICOM ${label} is missing or zero`);
  return value;
}

/** Reads and checks the attributes that describe the pixels (group 0028). */
function readLayout(dataSet: DataSet, syntax: TransferSyntax, maxPixels: number): PixelLayout {
  const rows = requirePositive(dataSet, TAG.rows, 'Rows');
  const columns = requirePositive(dataSet, TAG.columns, 'Columns');
  if (rows * columns > maxPixels) {
    throw new DecodeError(
      'too-large',
      `image dimensions ${columns} x ${rows} exceed the decoded pixel limit of ${maxPixels} pixels`,
    );
  }
  const photometric = (dataSet.string(TAG.photometric) ?? 'MONOCHROME2').trim().toUpperCase();
  const samplesPerPixel = dataSet.uint16(TAG.samplesPerPixel) ?? 1;
  if (!GREY.includes(photometric) && !COLOUR.includes(photometric)) {
    throw new DecodeError(
      'unsupported',
      `DICOM Photometric Interpretation ${codeString(photometric)} is not supported (grey-scale, RGB and YBR only)`,
    );
  }
  if (samplesPerPixel !== (GREY.includes(photometric) ? 1 : 3)) {
    throw new DecodeError(
      'corrupt',
      `DICOM Samples per Pixel ${samplesPerPixel} does not match ${photometric}`,
    );
  }
  const bitsAllocated = dataSet.uint16(TAG.bitsAllocated) ?? 8;
  if (![8, 16, 32].includes(bitsAllocated)) {
    throw new DecodeError(
      'unsupported',
      `DICOM Bits Allocated ${bitsAllocated} is not supported (8, 16 or 32)`,
    );
  }
  const bitsStored = Math.min(dataSet.uint16(TAG.bitsStored) ?? bitsAllocated, bitsAllocated);
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit: Math.min(dataSet.uint16(TAG.highBit) ?? bitsStored - 1, bitsAllocated - 1),
    pixelRepresentation: dataSet.uint16(TAG.pixelRepresentation) === 1 ? 1 : 0,
    planarConfiguration: dataSet.uint16(TAG.planarConfiguration) === 1 ? 1 : 0,
    littleEndian: syntax.littleEndian,
    photometric,
  };
}

/** The first Window Center/Width pair, when the file has a usable one. */
function readWindow(dataSet: DataSet): VoiWindow | undefined {
  const center = dataSet.floatString(TAG.windowCenter, 0);
  const width = dataSet.floatString(TAG.windowWidth, 0);
  if (center === undefined || width === undefined || !Number.isFinite(center) || !(width > 0))
    return undefined;
  const fn = codeString(dataSet.string(TAG.voiLutFunction));
  const windowFunction = fn === 'SIGMOID' || fn === 'LINEAR_EXACT' ? fn : 'LINEAR';
  return { center, width, function: windowFunction };
}

function readDisplaySettings(dataSet: DataSet, layout: PixelLayout, bitsStored: number): DisplaySettings {
  const slope = dataSet.floatString(TAG.rescaleSlope, 0);
  const intercept = dataSet.floatString(TAG.rescaleIntercept, 0);
  return {
    rescaleSlope: slope !== undefined && Number.isFinite(slope) && slope !== 0 ? slope : 1,
    rescaleIntercept: intercept !== undefined && Number.isFinite(intercept) ? intercept : 0,
    window: readWindow(dataSet),
    invert: layout.photometric === 'MONOCHROME1',
    bitsStored,
    signed: layout.pixelRepresentation === 1,
  };
}

/** The first frame of native pixel data as stored values. */
function nativeFrame(
  dataSet: DataSet,
  element: Element,
  layout: PixelLayout,
  meter: ColourfulnessMeter,
): Float32Array {
  const needed = frameByteLength(layout);
  const available = Math.min(element.length, dataSet.byteArray.length - element.dataOffset);
  if (available < needed) {
    throw new DecodeError(
      'corrupt',
      `DICOM pixel data is truncated: ${available} bytes, one ${layout.columns} x ${layout.rows} frame needs ${needed}`,
    );
  }
  return readNativeFrame(dataSet.byteArray, element.dataOffset, layout, meter);
}

/** The bytes of the first encapsulated frame (fragments joined as the Basic Offset Table says). */
function encapsulatedFrame(dataSet: DataSet, element: Element, frames: number): Uint8Array {
  const fragments = element.fragments ?? [];
  if (fragments.length === 0)
    throw new DecodeError('corrupt', 'DICOM encapsulated pixel data has no fragments');
  try {
    if (frames <= 1)
      return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
    const offsets =
      element.basicOffsetTable && element.basicOffsetTable.length > 0
        ? element.basicOffsetTable
        : dicomParser.createJPEGBasicOffsetTable(dataSet, element);
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, 0, offsets);
  } catch (err) {
    throw new DecodeError('corrupt', `corrupt DICOM encapsulated pixel data: ${parserMessage(err)}`);
  }
}

/** A JPEG lossless frame, read like native pixel data with the sample size the codec produced. */
function losslessFrame(
  frame: Uint8Array,
  layout: PixelLayout,
  maxPixels: number,
  meter: ColourfulnessMeter,
): Float32Array {
  const decoded = decodeJpegLossless(frame, maxPixels);
  if (decoded.width !== layout.columns || decoded.height !== layout.rows) {
    throw new DecodeError(
      'corrupt',
      `DICOM JPEG lossless frame is ${decoded.width} x ${decoded.height}, the header says ${layout.columns} x ${layout.rows}`,
    );
  }
  // The codec returns samples right-aligned at their precision, interleaved, in the machine's (little) endianness.
  const bitsStored = Math.min(layout.bitsStored, decoded.bitsAllocated);
  const frameLayout: PixelLayout = {
    ...layout,
    bitsAllocated: decoded.bitsAllocated,
    bitsStored,
    highBit: bitsStored - 1,
    planarConfiguration: 0,
    littleEndian: true,
  };
  if (decoded.bytes.length < frameByteLength(frameLayout)) {
    throw new DecodeError(
      'corrupt',
      'DICOM JPEG lossless frame decoded to fewer samples than the image needs',
    );
  }
  return readNativeFrame(decoded.bytes, 0, frameLayout, meter);
}

function pixelDataElement(dataSet: DataSet): Element {
  const element = dataSet.elements[TAG.pixelData];
  if (element) return element;
  if (dataSet.elements[TAG.floatPixelData] || dataSet.elements[TAG.doubleFloatPixelData]) {
    throw new DecodeError('unsupported', 'DICOM float pixel data is not supported');
  }
  throw new DecodeError('unsupported', 'DICOM file has no pixel data (e.g. a report, or a DICOMDIR index)');
}

/** The first frame's stored values, whatever the transfer syntax. */
interface StoredFrame {
  width: number;
  height: number;
  values: Float32Array;
  /** Bits per stored value as decoded (8 for a JPEG baseline frame). */
  bitsStored: number;
  /** Colourfulness of a colour frame before it became grey (0 for grey frames). */
  colourfulness: number;
}

async function readFirstFrame(
  dataSet: DataSet,
  syntax: TransferSyntax,
  layout: PixelLayout,
  maxPixels: number,
  codecs: DicomCodecs,
): Promise<StoredFrame> {
  const element = pixelDataElement(dataSet);
  const frames = numberOfFrames(dataSet);
  const size = { width: layout.columns, height: layout.rows };
  if (syntax.encoding === 'jpeg-baseline') {
    const decoded = await codecs.decodeJpeg(encapsulatedFrame(dataSet, element, frames), maxPixels);
    return { ...decoded, bitsStored: 8 };
  }
  const meter = new ColourfulnessMeter(255 / (2 ** layout.bitsStored - 1));
  if (syntax.encoding === 'jpeg-lossless') {
    const values = losslessFrame(encapsulatedFrame(dataSet, element, frames), layout, maxPixels, meter);
    return { ...size, values, bitsStored: layout.bitsStored, colourfulness: meter.value() };
  }
  if (element.encapsulatedPixelData)
    throw new DecodeError('corrupt', 'DICOM native pixel data is encapsulated');
  if (layout.photometric === 'YBR_FULL_422') {
    throw new DecodeError('unsupported', 'DICOM uncompressed YBR_FULL_422 pixel data is not supported');
  }
  const values = nativeFrame(dataSet, element, layout, meter);
  return { ...size, values, bitsStored: layout.bitsStored, colourfulness: meter.value() };
}

function numberOfFrames(dataSet: DataSet): number {
  return Math.max(1, dataSet.intString(TAG.numberOfFrames) ?? 1);
}

async function decodeDicom(
  bytes: Uint8Array,
  options: Required<DecodeOptions>,
  codecs: DicomCodecs,
): Promise<DecodedImage> {
  const dataSet = await parseDataSet(bytes, options.maxPixels, codecs);
  const uid = (dataSet.string(TAG.transferSyntaxUid) ?? '').replace(/[^0-9.]/g, '');
  const syntax = transferSyntax(uid);
  if (syntax.encoding === 'unsupported') throw unsupportedSyntax(syntax);
  pixelDataElement(dataSet);
  const layout = readLayout(dataSet, syntax, options.maxPixels);
  const frame = await readFirstFrame(dataSet, syntax, layout, options.maxPixels, codecs);
  const data = toDisplayPixels(frame.values, readDisplaySettings(dataSet, layout, frame.bitsStored));
  const frames = numberOfFrames(dataSet);
  const warnings = frames > 1 ? [`multi-frame DICOM: using frame 1 of ${frames}`] : [];
  const dicom = readAttributes(dataSet);
  return {
    width: frame.width,
    height: frame.height,
    data,
    format: 'dicom',
    warnings,
    colourfulness: frame.colourfulness,
    ...(dicom ? { dicom } : {}),
  };
}

/** Modality, Body Part Examined and View Position as sanitised coded strings, when present and not empty. */
function readAttributes(dataSet: DataSet): DicomAttributes | undefined {
  const read = (tag: string) => {
    const value = codeString(dataSet.string(tag)?.trim().toUpperCase());
    return value === '(none)' ? undefined : value.trim();
  };
  const attributes: DicomAttributes = {};
  const modality = read(TAG.modality);
  const bodyPart = read(TAG.bodyPartExamined);
  const viewPosition = read(TAG.viewPosition);
  if (modality) attributes.modality = modality;
  if (bodyPart) attributes.bodyPart = bodyPart;
  if (viewPosition) attributes.viewPosition = viewPosition;
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

/** The DICOM decoder (an entry of the decoder list in ./index.ts), with the platform's codecs. */
export function createDicomDecoder(codecs: DicomCodecs): ImageDecoder {
  return { name: 'dicom', sniff: isDicom, decode: (bytes, options) => decodeDicom(bytes, options, codecs) };
}
