/** Feature matrices and statistics read from `.npy` files, with errors that name the file. */
import { readFile } from 'node:fs/promises';
import { decodeNpy } from '../../common/npy';
import { featureMatrix, type DenseMatrix, type FeatureMatrix } from './dense-matrix';

async function readNpy(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, { cause: error });
  }
  try {
    // A plain Uint8Array view: Buffer's own slice() shares memory, Uint8Array's copies.
    return decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  }
}

function asFloat32(data: ArrayLike<number | bigint> & { length: number }, path: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array) return Float32Array.from(data);
  throw new Error(`${path} must hold float32 or float64 values.`);
}

function asFloat64(data: ArrayLike<number | bigint> & { length: number }, path: string): Float64Array {
  if (data instanceof Float64Array) return data;
  if (data instanceof Float32Array) return Float64Array.from(data);
  throw new Error(`${path} must hold float32 or float64 values.`);
}

/** A [N, D] array of per-image vectors (features or logits). */
export async function readFeatureMatrix(path: string): Promise<FeatureMatrix> {
  const array = await readNpy(path);
  if (array.shape.length !== 2) {
    throw new Error(`${path} must be a 2-D array of one row per image, but its shape is [${array.shape.join(', ')}].`);
  }
  const [count, dimension] = array.shape as [number, number];
  return featureMatrix(asFloat32(array.data, path), count, dimension);
}

export async function readVector(path: string): Promise<Float64Array> {
  const array = await readNpy(path);
  if (array.shape.length !== 1) throw new Error(`${path} must be a 1-D array (a mean vector), but its shape is [${array.shape.join(', ')}].`);
  return asFloat64(array.data, path);
}

export async function readSquareMatrix(path: string): Promise<DenseMatrix> {
  const array = await readNpy(path);
  const [rows, cols] = array.shape;
  if (array.shape.length !== 2 || rows !== cols || rows === undefined) {
    throw new Error(`${path} must be a square 2-D array (a covariance), but its shape is [${array.shape.join(', ')}].`);
  }
  return { rows, cols: rows, data: asFloat64(array.data, path) };
}
