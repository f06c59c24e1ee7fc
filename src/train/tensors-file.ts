/**
 * A tiny binary format for lists of tensors (model weights, optimiser state): float32 values back to back, with
 * names, shapes and dtypes kept in JSON beside them. Writes are atomic (temporary file + rename).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';

/** A tensor with a name (same shape as TF.js's optimiser weights). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** How to cut a tensors file back into tensors. */
export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** Writes `data` to `file` via a temporary sibling, so readers never see a half-written file. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Serialises named tensors; returns their specs for the JSON side. */
export async function writeTensors(file: string, tensors: NamedTensor[]): Promise<TensorSpec[]> {
  const total = tensors.reduce((n, t) => n + t.tensor.size, 0);
  const values = new Float32Array(total);
  let offset = 0;
  const specs: TensorSpec[] = [];
  for (const { name, tensor } of tensors) {
    values.set(await tensor.data(), offset);
    offset += tensor.size;
    specs.push({ name, shape: tensor.shape.slice(), dtype: tensor.dtype === 'int32' ? 'int32' : 'float32' });
  }
  await writeFileAtomic(file, new Uint8Array(values.buffer));
  return specs;
}

/** Reads tensors written by `writeTensors`; the caller disposes them. */
export async function readTensors(file: string, specs: TensorSpec[]): Promise<NamedTensor[]> {
  const bytes = await readFile(file);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.byteLength !== expected * 4) {
    throw new Error(
      `${file}: ${bytes.byteLength} bytes, expected ${expected * 4} (truncated or mismatched file)`,
    );
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  return specs.map((spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const slice = values.subarray(offset, offset + size);
    offset += size;
    const data = spec.dtype === 'int32' ? Int32Array.from(slice) : slice.slice();
    return { name: spec.name, tensor: tf.tensor(data, spec.shape, spec.dtype) };
  });
}
