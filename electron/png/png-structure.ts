/**
 * The chunk structure of a PNG file (PNG specification, section 5), read without trusting it:
 * every declared chunk length is checked against the bytes really left before anything is
 * read, chunk data is handed out as views into the file (never copied), and the image size
 * in IHDR is checked against a pixel budget before any decoder sees the file. A hostile or
 * damaged file therefore costs time and memory in proportion to its real size, not to what
 * its headers claim.
 */
import { crc32 } from 'node:zlib';

/** A PNG that cannot be read safely; the message says what is wrong and what to do. */
export class PngStructureError extends Error {
  override name = 'PngStructureError';
}

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Largest image decoded into memory: 4096×4096 RGBA is 64 MiB, far beyond the studio's 512×512 images. */
export const MAX_PNG_PIXELS = 4096 * 4096;

/** The PNG specification limits a chunk length to 2³¹ − 1. */
const MAX_CHUNK_LENGTH = 0x7fffffff;
/** Length field, type field, CRC field. */
const CHUNK_FRAME_BYTES = 12;
const IHDR_LENGTH = 13;

export interface PngChunk {
  /** Four ASCII letters, e.g. "IHDR", "tEXt". */
  type: string;
  /** The chunk's data: a view into the file, not a copy. */
  data: Uint8Array;
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
}

function damaged(problem: string): PngStructureError {
  return new PngStructureError(`This PNG file is damaged: ${problem}. Export or copy the image again.`);
}

function isChunkTypeLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/**
 * Walks the chunks from the signature to IEND (bytes after IEND are ignored). Throws a
 * PngStructureError when the file is not a PNG, when a chunk claims more bytes than the
 * file has left, when a chunk's CRC does not match, or when the file ends before IEND.
 * A generator, so a reader that finds what it wants stops there and a file of millions
 * of tiny chunks never becomes millions of objects at once.
 */
export function* pngChunks(png: Uint8Array): Generator<PngChunk> {
  if (!hasPngSignature(png)) {
    throw new PngStructureError('This file is not a PNG image (its first bytes are not the PNG signature). Choose a .png file.');
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = PNG_SIGNATURE.length;
  for (let index = 0; ; index++) {
    const left = png.length - offset;
    if (left < CHUNK_FRAME_BYTES) {
      throw damaged(`it ends after ${png.length} bytes, before its closing IEND chunk (the file was cut short)`);
    }
    const length = view.getUint32(offset);
    const typeBytes = png.subarray(offset + 4, offset + 8);
    if (!typeBytes.every(isChunkTypeLetter)) {
      throw damaged(`chunk ${index + 1} at byte ${offset} has no valid type (the bytes there are not a chunk header)`);
    }
    const type = String.fromCharCode(...typeBytes);
    if (length > MAX_CHUNK_LENGTH) {
      throw damaged(`its ${type} chunk claims ${length} bytes, more than the 2147483647 the PNG format allows`);
    }
    const bytesAfterHeader = left - 8;
    if (length + 4 > bytesAfterHeader) {
      throw damaged(
        `a chunk claims ${length} bytes but the file has only ${bytesAfterHeader} left (the ${type} chunk at byte ${offset}, with its 4-byte checksum, runs past the end of the file)`,
      );
    }
    const dataStart = offset + 8;
    const data = png.subarray(dataStart, dataStart + length);
    const storedCrc = view.getUint32(dataStart + length);
    if (crc32(data, crc32(typeBytes)) !== storedCrc) {
      throw damaged(`the checksum (CRC) of its ${type} chunk at byte ${offset} does not match the chunk's bytes`);
    }
    if (index === 0 && type !== 'IHDR') throw damaged(`it starts with the chunk ${type} instead of IHDR`);
    yield { type, data };
    if (type === 'IEND') return;
    offset = dataStart + length + 4;
  }
}

/** Reads IHDR and refuses an image too large to decode before any pixel memory is taken. */
export function pngHeaderOf(ihdr: PngChunk): PngHeader {
  if (ihdr.type !== 'IHDR' || ihdr.data.length !== IHDR_LENGTH) {
    throw damaged(`its IHDR chunk holds ${ihdr.data.length} bytes instead of ${IHDR_LENGTH}`);
  }
  const view = new DataView(ihdr.data.buffer, ihdr.data.byteOffset, ihdr.data.byteLength);
  const header: PngHeader = { width: view.getUint32(0), height: view.getUint32(4), bitDepth: view.getUint8(8), colorType: view.getUint8(9) };
  if (header.width === 0 || header.height === 0 || header.width > MAX_CHUNK_LENGTH || header.height > MAX_CHUNK_LENGTH) {
    throw damaged(`its header declares ${header.width}×${header.height} pixels, which no PNG image can have`);
  }
  const pixels = header.width * header.height;
  if (pixels > MAX_PNG_PIXELS) {
    throw new PngStructureError(
      `This PNG declares ${header.width}×${header.height} pixels (${pixels}), more than the ${MAX_PNG_PIXELS} (4096×4096) the studio decodes, so it was not left to expand in memory. Use an image exported by the studio.`,
    );
  }
  return header;
}

/** The checked header of a PNG, read from its first chunk without decoding pixels. */
export function readPngHeader(png: Uint8Array): PngHeader {
  const first = pngChunks(png).next();
  if (first.done === true) throw damaged('it has no IHDR chunk');
  return pngHeaderOf(first.value);
}

/** Walks the whole file (every length and CRC) and returns its checked header: the gate before a decoder. */
export function checkPngStructure(png: Uint8Array): PngHeader {
  let header: PngHeader | undefined;
  for (const chunk of pngChunks(png)) header ??= pngHeaderOf(chunk);
  if (header === undefined) throw damaged('it has no IHDR chunk');
  return header;
}
