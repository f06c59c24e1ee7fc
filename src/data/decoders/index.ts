/**
 * The decoders Pneumoscope ships beyond what sharp reads itself. decode.ts calls `registerBuiltinDecoders` when
 * it loads, so every caller that decodes images (train, evaluate, predict, serve) reads DICOM too.
 */
import { registerDecoder } from '../decode.ts';
import { createDicomDecoder } from './dicom.ts';

// A function declaration (hoisted), because decode.ts calls it while this module may still be loading.
export function registerBuiltinDecoders(): void {
  registerDecoder(createDicomDecoder());
}
