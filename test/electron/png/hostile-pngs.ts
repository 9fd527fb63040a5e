/**
 * PNG files a hostile or broken source could hand the studio. Chunks are framed by hand
 * here because no encoder writes wrong lengths or checksums; the well-formed files framed
 * this way are decoded by pngjs in the tests, which shows the framing itself is right.
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One chunk: length, type, data, CRC of type + data (or `crc` when given, to make it wrong). */
export function chunkBytes(type: string, data: Uint8Array, options: { declaredLength?: number; crc?: number } = {}): Uint8Array {
  const typeBytes = new TextEncoder().encode(type);
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, options.declaredLength ?? data.length);
  bytes.set(typeBytes, 4);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, options.crc ?? crc32(data, crc32(typeBytes)));
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function ihdr(width: number, height: number): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data[8] = 8; // bit depth
  data[9] = 0; // greyscale
  return chunkBytes('IHDR', data);
}

/** tEXt data: Latin-1 keyword, NUL, text. */
export function textData(keyword: string, text: Uint8Array | string): Uint8Array {
  const body = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return concat(Buffer.from(keyword, 'latin1'), Uint8Array.of(0), body);
}

/** A small valid greyscale PNG of `size`×`size` framed by hand, with `extra` chunks after IHDR. */
export function framedPng(size: number, ...extra: Uint8Array[]): Uint8Array {
  const rows = new Uint8Array(size * (size + 1)); // filter byte 0 then zero pixels, per row
  return concat(SIGNATURE, ihdr(size, size), ...extra, chunkBytes('IDAT', deflateSync(rows)), chunkBytes('IEND', new Uint8Array(0)));
}

/** 54 bytes: signature, IHDR, then a chunk header that claims 1 GiB followed by 13 bytes. */
export function chunkClaimingOneGiB(): Uint8Array {
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, 1 << 30);
  header.set(new TextEncoder().encode('tEXt'), 4);
  return concat(SIGNATURE, ihdr(8, 8), header, new Uint8Array(13));
}

/**
 * A valid PNG that declares `width`×`height` greyscale pixels; its IDAT is a few kilobytes
 * of deflated zeros that would expand to width × height bytes in a decoder.
 */
export function decompressionBomb(width = 100_000, height = 100_000): Uint8Array {
  const zeros = deflateSync(new Uint8Array(4 << 20), { level: 9 });
  return concat(SIGNATURE, ihdr(width, height), chunkBytes('IDAT', zeros), chunkBytes('IEND', new Uint8Array(0)));
}
