/**
 * NumPy `.npy` (format version 1.0 and 2.0) reading and writing on plain byte arrays.
 * Only C-ordered, little-endian numeric arrays: what the model tooling and the engine exchange.
 */

export type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8' | '|u1';

export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const BYTES_PER_ELEMENT: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8, '|u1': 1 };

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  return '|u1';
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Serialises `data` with the given shape as a version 1.0 `.npy` file. */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  if (elementCount(shape) !== data.length) {
    throw new Error(`Cannot write .npy: shape [${shape.join(', ')}] holds ${elementCount(shape)} values but ${data.length} were given.`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The header (magic + version + length + text + newline) is padded to a multiple of 64 bytes.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(MAGIC.length + 4 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}

function parseHeader(text: string): { dtype: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`Cannot read .npy: the header "${text.trim()}" is not a NumPy array header.`);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => Number.parseInt(part, 10));
  return { dtype: descr, fortranOrder: fortran === 'True', shape };
}

/** Parses a `.npy` file. The returned data is a copy, aligned for its element type. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((value, index) => bytes[index] !== value)) {
    throw new Error('Cannot read .npy: the file does not start with the NumPy magic string.');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = parseHeader(new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength)));
  if (header.fortranOrder) throw new Error('Cannot read .npy: Fortran-ordered arrays are not supported; save with np.ascontiguousarray.');
  const dtype = header.dtype === '<u1' ? '|u1' : header.dtype;
  if (!(dtype in BYTES_PER_ELEMENT)) {
    throw new Error(`Cannot read .npy: element type ${header.dtype} is not supported (use float32, float64, int32, int64 or uint8).`);
  }
  const npyDtype = dtype as NpyDtype;
  const count = elementCount(header.shape);
  const dataStart = headerStart + headerLength;
  const byteLength = count * BYTES_PER_ELEMENT[npyDtype];
  if (bytes.length - dataStart < byteLength) {
    throw new Error(`Cannot read .npy: shape [${header.shape.join(', ')}] needs ${byteLength} bytes of data but the file holds ${bytes.length - dataStart}.`);
  }
  // An explicit copy: Node's Buffer.slice would return a view into a shared pool.
  const copyBytes = new Uint8Array(byteLength);
  copyBytes.set(bytes.subarray(dataStart, dataStart + byteLength));
  const copy = copyBytes.buffer;
  const data: NpyData =
    npyDtype === '<f4' ? new Float32Array(copy)
    : npyDtype === '<f8' ? new Float64Array(copy)
    : npyDtype === '<i4' ? new Int32Array(copy)
    : npyDtype === '<i8' ? new BigInt64Array(copy)
    : new Uint8Array(copy);
  return { dtype: npyDtype, shape: header.shape, data };
}

/** Reads a `.npy` file that must hold float32 values (float64 is narrowed). */
export function decodeNpyFloat32(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const array = decodeNpy(bytes);
  if (array.data instanceof Float32Array) return { shape: array.shape, data: array.data };
  if (array.data instanceof Float64Array) return { shape: array.shape, data: Float32Array.from(array.data) };
  throw new Error(`Expected a float32 .npy array but found element type ${array.dtype}.`);
}
