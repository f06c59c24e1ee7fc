/**
 * Float vectors stored compactly in metadata.json (little-endian float32, base64), in both directions.
 * Browser-safe: btoa/atob exist in Node 20 and every browser.
 */
import type { PackedFloats } from '../model/gate-config.ts';

export function packFloats(values: ArrayLike<number>): PackedFloats {
  const floats = Float32Array.from(values);
  const bytes = new Uint8Array(floats.buffer);
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return { encoding: 'float32-base64', length: floats.length, data: btoa(binary) };
}

export function unpackFloats(packed: PackedFloats, what = 'packed floats'): Float64Array {
  if (packed?.encoding !== 'float32-base64' || typeof packed.data !== 'string') {
    throw new Error(`${what}: expected {encoding: "float32-base64", data}`);
  }
  const binary = atob(packed.data);
  if (binary.length !== packed.length * 4) {
    throw new Error(`${what}: ${binary.length / 4} values stored, ${packed.length} declared`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return Float64Array.from(new Float32Array(bytes.buffer));
}
