/**
 * The decoders Pneumoscope ships for formats sharp does not read itself, as a plain list: src/data/decode.ts
 * tries them before sharp's JPEG and PNG, so every caller that decodes images (train, evaluate, predict, serve)
 * reads DICOM too. Adding a format means adding an entry here; nothing registers itself on import.
 */
import type { ImageDecoder } from './decoder.ts';
import { createDicomDecoder } from './dicom.ts';
import { nodeDicomCodecs } from './dicom-codecs-node.ts';

export const PLUGIN_DECODERS: readonly ImageDecoder[] = [createDicomDecoder(nodeDicomCodecs)];
