import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, pngSize } from '../../../electron/png/image';
import { MAX_PNG_PIXELS, PngStructureError, pngChunks } from '../../../electron/png/png-structure';
import { testImage } from '../gallery/gallery-fixtures';
import { chunkBytes, chunkClaimingOneGiB, concat, decompressionBomb, framedPng, ihdr, textData } from './hostile-pngs';
import { MIB, failureOf } from './memory-growth';

const SIGNATURE = framedPng(1).subarray(0, 8);
const chunkTypes = (png: Uint8Array) => [...pngChunks(png)].map((chunk) => chunk.type);

describe('walking the chunks of a PNG', () => {
  it('lists the chunks pngjs wrote, as views into the file rather than copies', () => {
    const png = encodePng(testImage(16, 3));
    expect(chunkTypes(png)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const idat = [...pngChunks(png)][1]!;
    expect(idat.data.buffer).toBe(png.buffer);
    expect(idat.data.length).toBe(new DataView(png.buffer, png.byteOffset).getUint32(33));
  });

  it('frames the hand-made test files correctly: pngjs decodes them', () => {
    const png = framedPng(5, chunkBytes('tEXt', textData('Comment', 'hello')));
    expect(chunkTypes(png)).toEqual(['IHDR', 'tEXt', 'IDAT', 'IEND']);
    expect(decodePng(png)).toMatchObject({ width: 5, height: 5 });
  });

  it('stops at IEND and ignores what follows it', () => {
    const png = concat(framedPng(2), new Uint8Array(64).fill(0xff));
    expect(chunkTypes(png)).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('refuses a 54-byte file whose chunk claims 1 GiB before reading it, without taking the memory', () => {
    const png = chunkClaimingOneGiB();
    expect(png.length).toBe(54);
    const { error, rssGrowth } = failureOf(() => [...pngChunks(png)]);
    expect(error).toBeInstanceOf(PngStructureError);
    expect(error.message).toBe(
      'This PNG file is damaged: a chunk claims 1073741824 bytes but the file has only 13 left (the tEXt chunk at byte 33, with its 4-byte checksum, runs past the end of the file). Export or copy the image again.',
    );
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });

  it('names a file cut short inside a chunk and one cut short between chunks', () => {
    const png = encodePng(testImage(32, 1));
    expect(() => [...pngChunks(png.subarray(0, png.length - 30))]).toThrow(/a chunk claims \d+ bytes but the file has only \d+ left \(the IDAT chunk at byte 33/);
    expect(() => [...pngChunks(png.subarray(0, png.length - 12))]).toThrow(
      `This PNG file is damaged: it ends after ${png.length - 12} bytes, before its closing IEND chunk (the file was cut short). Export or copy the image again.`,
    );
    expect(() => [...pngChunks(SIGNATURE)]).toThrow(/ends after 8 bytes, before its closing IEND chunk/);
  });

  it('refuses a chunk whose checksum does not match its bytes', () => {
    const png = framedPng(4);
    const damaged = Uint8Array.from(png);
    const insideIdat = damaged.length - 20; // IDAT's deflate stream, before its CRC and the 12-byte IEND
    damaged[insideIdat] = (damaged[insideIdat] as number) ^ 0x01;
    expect(() => [...pngChunks(damaged)]).toThrow(/the checksum \(CRC\) of its IDAT chunk at byte 33 does not match/);
    const wrongCrc = concat(SIGNATURE, chunkBytes('IHDR', ihdr(2, 2).subarray(8, 21), { crc: 0 }));
    expect(() => [...pngChunks(wrongCrc)]).toThrow(/checksum \(CRC\) of its IHDR chunk at byte 8/);
  });

  it('refuses lengths beyond the format, headers that are not chunk headers, and a first chunk other than IHDR', () => {
    const tooLong = concat(SIGNATURE, chunkBytes('IHDR', new Uint8Array(0), { declaredLength: 0x80000000 }));
    expect(() => [...pngChunks(tooLong)]).toThrow(/claims 2147483648 bytes, more than the 2147483647 the PNG format allows/);
    const garbage = concat(SIGNATURE, Uint8Array.of(0, 0, 0, 0, 0x49, 0x48, 0x00, 0x52), new Uint8Array(8));
    expect(() => [...pngChunks(garbage)]).toThrow(/chunk 1 at byte 8 has no valid type/);
    const noHeader = concat(SIGNATURE, chunkBytes('IEND', new Uint8Array(0)));
    expect(() => [...pngChunks(noHeader)]).toThrow(/it starts with the chunk IEND instead of IHDR/);
    expect(() => [...pngChunks(new TextEncoder().encode('GIF89a....'))]).toThrow(/not a PNG image/);
  });
});

describe('the pixel budget', () => {
  it('refuses a decompression bomb from its IHDR before pngjs allocates the pixels', () => {
    const bomb = decompressionBomb(100_000, 100_000);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const { error, rssGrowth } = failureOf(() => decodePng(bomb));
    expect(error).toBeInstanceOf(PngStructureError);
    expect(error.message).toBe(
      `This PNG declares 100000×100000 pixels (10000000000), more than the ${MAX_PNG_PIXELS} (4096×4096) the studio decodes, so it was not left to expand in memory. Use an image exported by the studio.`,
    );
    expect(rssGrowth).toBeLessThan(50 * MIB);
    expect(() => pngSize(bomb)).toThrow(/declares 100000×100000 pixels/);
  });

  it('accepts an image right at the budget and refuses one pixel row more', () => {
    expect(pngSize(decompressionBomb(4096, 4096))).toEqual({ width: 4096, height: 4096 });
    expect(() => pngSize(decompressionBomb(4096, 4097))).toThrow(/declares 4096×4097 pixels \(16781312\)/);
  });

  it('refuses an IHDR of the wrong size or with a zero side', () => {
    const shortHeader = concat(SIGNATURE, chunkBytes('IHDR', new Uint8Array(12)), chunkBytes('IEND', new Uint8Array(0)));
    expect(() => pngSize(shortHeader)).toThrow(/its IHDR chunk holds 12 bytes instead of 13/);
    expect(() => decodePng(concat(SIGNATURE, ihdr(0, 5), chunkBytes('IEND', new Uint8Array(0))))).toThrow(/declares 0×5 pixels, which no PNG image can have/);
  });
});
