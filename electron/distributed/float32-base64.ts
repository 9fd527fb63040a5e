/** Float32 arrays as base64 of their bytes, so features travel through Redis at 4 bytes a value. */

export function float32ToBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** `expectedLength` values, or an error saying what arrived instead. */
export function float32FromBase64(text: string, expectedLength: number, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength !== expectedLength * 4) {
    throw new Error(`The ${what} hold ${bytes.byteLength} bytes where ${expectedLength} float32 values (${expectedLength * 4} bytes) were expected.`);
  }
  // Copied: a Buffer's offset in its pool need not be a multiple of 4.
  const values = new Float32Array(expectedLength);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}
