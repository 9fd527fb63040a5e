/** A dropped file is refused in the page, before it is sent, when it is too large or not a PNG. */
import { describe, expect, it } from 'vitest';
import { base64Length, BRIDGE_MAX_MESSAGE_BYTES, MAX_RECIPE_PNG_BYTES } from '../../common/contract/bridge-protocol';
import { readDroppedPng, type DroppedFile } from '../../renderer/src/lib/dropped-png';

const PNG_START = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A file of `size` bytes that records whether its whole content was read. */
function fakeFile(name: string, head: number[], size = head.length): DroppedFile & { wholeReads: number } {
  const bytes = new Uint8Array(Math.min(size, 64));
  bytes.set(head.slice(0, bytes.length));
  const file = {
    name,
    size,
    wholeReads: 0,
    slice: (start: number, end: number) => ({ arrayBuffer: async () => bytes.slice(start, end).buffer }),
    arrayBuffer: async () => {
      file.wholeReads++;
      return bytes.buffer;
    },
  };
  return file;
}

describe('readDroppedPng', () => {
  it('reads a PNG within the limit', async () => {
    const file = fakeFile('sample.png', [...PNG_START, 0, 0, 0, 13]);
    const dropped = await readDroppedPng(file);
    expect(dropped).toEqual({ ok: true, bytes: new Uint8Array([...PNG_START, 0, 0, 0, 13]) });
  });

  it('refuses a 75 MB file without reading it, naming both sizes', async () => {
    const file = fakeFile('huge.png', PNG_START, 75_000_000);
    expect(await readDroppedPng(file)).toEqual({
      ok: false,
      message: 'This file is 75 MB; a studio PNG is far smaller — at most 73 MB can be read. Drop the PNG the studio exported.',
    });
    expect(file.wholeReads).toBe(0);
  });

  it('takes the limit whose base64 fits in one bridge message', () => {
    expect(base64Length(MAX_RECIPE_PNG_BYTES)).toBeLessThan(BRIDGE_MAX_MESSAGE_BYTES);
  });

  it.each([
    ['photo.jpg', [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]],
    ['renamed.png', [...'GIF89a..'].map((character) => character.charCodeAt(0))],
    ['empty.png', []],
  ])('refuses %s by its first bytes, without reading the rest', async (name, head) => {
    const file = fakeFile(name, head);
    expect(await readDroppedPng(file)).toEqual({ ok: false, message: `${name} is not a PNG image. Drop a PNG exported from the studio to restore its settings.` });
    expect(file.wholeReads).toBe(0);
  });

  it('cuts a long file name in its sentence', async () => {
    const dropped = await readDroppedPng(fakeFile(`${'n'.repeat(5000)}.txt`, [1, 2, 3]));
    expect(dropped.ok || dropped.message).toBe(`${'n'.repeat(60)}… is not a PNG image. Drop a PNG exported from the studio to restore its settings.`);
  });
});
