/**
 * Checks a file dropped on the studio before it is read and sent: only a PNG small enough for
 * one bridge message can carry a studio recipe, so anything else is answered in the page at once.
 */
import { MAX_RECIPE_PNG_BYTES } from '../../../common/contract/bridge-protocol';

/** The eight bytes every PNG file starts with. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** What the page needs of a dropped file (a DOM File has all of it). */
export interface DroppedFile {
  name: string;
  size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type DroppedPng = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1_000_000)} MB`;
}

function quotedName(name: string): string {
  return name.length > 60 ? `${name.slice(0, 60)}…` : name;
}

/** The file's bytes when it may be a studio PNG, else the sentence to show instead of sending it. */
export async function readDroppedPng(file: DroppedFile, maxBytes: number = MAX_RECIPE_PNG_BYTES): Promise<DroppedPng> {
  if (file.size > maxBytes) {
    return {
      ok: false,
      message: `This file is ${megabytes(file.size)}; a studio PNG is far smaller — at most ${megabytes(maxBytes)} can be read. Drop the PNG the studio exported.`,
    };
  }
  const head = new Uint8Array(await file.slice(0, PNG_SIGNATURE.length).arrayBuffer());
  if (head.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((byte, index) => head[index] !== byte)) {
    return { ok: false, message: `${quotedName(file.name)} is not a PNG image. Drop a PNG exported from the studio to restore its settings.` };
  }
  return { ok: true, bytes: new Uint8Array(await file.arrayBuffer()) };
}
