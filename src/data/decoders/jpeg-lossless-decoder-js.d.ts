/** Types for jpeg-lossless-decoder-js 2.x, which ships JavaScript only (its declared .d.ts is missing). */
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** Bytes per output sample (1 or 2), known after decoding. */
    numBytes: number;
    numComp: number;
    xDim: number;
    yDim: number;
    /** Decodes one JPEG lossless image; returns cols * rows * numBytes * numComp bytes (native-endian). */
    decompress(buffer: ArrayBuffer, offset?: number, length?: number): ArrayBuffer;
  }
}
