/**
 * Finds the external-data file names an ONNX model refers to. A TensorProto keeps them as
 * StringStringEntryProto { key = "location", value = <path> } entries; serialised, that is
 * field 1 (tag 0x0a) of length 8 holding "location", then field 2 (tag 0x12) holding the path.
 * Scanning for that exact byte pattern finds every entry without decoding the whole protobuf.
 */

const LOCATION_ENTRY = Uint8Array.from([0x0a, 0x08, ...new TextEncoder().encode('location'), 0x12]);

function readVarint(bytes: Uint8Array, start: number): { value: number; next: number } | null {
  let value = 0;
  let shift = 0;
  for (let index = start; index < bytes.length && shift < 35; index++) {
    const byte = bytes[index] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: index + 1 };
    shift += 7;
  }
  return null;
}

export function externalDataLocations(model: Uint8Array): string[] {
  const locations = new Set<string>();
  const buffer = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  let from = 0;
  for (;;) {
    const found = buffer.indexOf(LOCATION_ENTRY, from);
    if (found < 0) break;
    const length = readVarint(model, found + LOCATION_ENTRY.length);
    if (length !== null && length.next + length.value <= model.length) {
      locations.add(new TextDecoder().decode(model.subarray(length.next, length.next + length.value)));
    }
    from = found + 1;
  }
  return [...locations];
}
