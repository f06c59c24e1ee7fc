/**
 * The Grad-CAM overlay as a DICOM Secondary Capture image (RGB, uncompressed), filed in the source image's study
 * beside the SR, so a viewer shows it next to the X-ray. Built with dcmjs from the PNG the Predictor renders.
 */
import type { NaturalDataSet } from 'dcmjs';
import sharp from 'sharp';
import { dicomDateTime, equipmentAttributes, sourceAttributes } from './dataset.ts';
import { TRIAGE_DISCLAIMER } from './sr.ts';
import { derivedInstanceUid, derivedSeriesUid, type ModelIdentity } from './uids.ts';

export const SECONDARY_CAPTURE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
export const HEATMAP_SERIES_NUMBER = 9902;

/** A Secondary Capture of `png` (the overlay) derived from `source` (its WADO-RS metadata, naturalized). */
export async function buildHeatmapCapture(
  source: NaturalDataSet,
  png: Uint8Array,
  model: ModelIdentity,
  now = new Date(),
): Promise<NaturalDataSet> {
  const { data, info } = await sharp(png)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(data.length + (data.length % 2));
  pixels.set(data);
  const stamp = dicomDateTime(now);
  const sourceRef = {
    ReferencedSOPClassUID: source.SOPClassUID,
    ReferencedSOPInstanceUID: source.SOPInstanceUID,
  };
  return {
    ...sourceAttributes(source),
    ...equipmentAttributes(model),
    SOPClassUID: SECONDARY_CAPTURE_STORAGE,
    SOPInstanceUID: derivedInstanceUid('heatmap', String(source.SOPInstanceUID), model),
    Modality: 'OT',
    ConversionType: 'WSD',
    SeriesInstanceUID: derivedSeriesUid('heatmap', String(source.SeriesInstanceUID), model),
    SeriesNumber: HEATMAP_SERIES_NUMBER,
    SeriesDescription: `Pneumoscope Grad-CAM (${model.name} ${model.version})`.slice(0, 64),
    InstanceNumber: 1,
    InstanceCreationDate: stamp.date,
    InstanceCreationTime: stamp.time,
    ContentDate: stamp.date,
    ContentTime: stamp.time,
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: 'Grad-CAM heat map of the pneumonia score blended over the source image',
    ImageComments:
      `Grad-CAM overlay: shows where the score's evidence lies, not a segmentation. ${TRIAGE_DISCLAIMER}`.slice(
        0,
        10240,
      ),
    BurnedInAnnotation: 'NO',
    SourceImageSequence: [sourceRef],
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: info.height,
    Columns: info.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OB' },
  };
}
