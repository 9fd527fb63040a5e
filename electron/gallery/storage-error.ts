/**
 * The one place that turns a failed read or write of the data folder (SQLite result codes
 * and Node's file-system codes) into a sentence that says what went wrong and what to do.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { GalleryError } from './gallery-error';

export type StorageFault = 'disk-full' | 'locked' | 'not-writable' | 'missing';

/** Free space asked for at the least, however small the images: SQLite, its journal and the OS want room too. */
export const MINIMUM_FREE_BYTES = 50 * 1024 * 1024;

const FAULT_BY_CODE: Readonly<Record<string, StorageFault>> = {
  SQLITE_FULL: 'disk-full',
  ENOSPC: 'disk-full',
  SQLITE_BUSY: 'locked',
  SQLITE_LOCKED: 'locked',
  SQLITE_READONLY: 'not-writable',
  SQLITE_CANTOPEN: 'not-writable',
  SQLITE_PERM: 'not-writable',
  EACCES: 'not-writable',
  EPERM: 'not-writable',
  EROFS: 'not-writable',
  ENOTDIR: 'not-writable',
  ENOENT: 'missing',
};

/** A storage failure with the sentence for the user; `cause` keeps the original error. */
export class StorageError extends GalleryError {
  override name = 'StorageError';
  readonly fault: StorageFault;
  /** The file or folder the failure is about. */
  readonly path: string;

  constructor(fault: StorageFault, path: string, message: string, cause: unknown) {
    super(message, { cause });
    this.fault = fault;
    this.path = path;
  }
}

export interface StoragePlace {
  /** The gallery database file. */
  file: string;
  /** Bytes the work in progress still has to write, when known (asked for when the disk is full). */
  bytesStillNeeded?: number;
  /** Who else may hold the gallery's write lock (e.g. "process 1234 (another Guided Diffusion Studio)"). */
  lockHolders?: readonly string[];
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The storage fault an error stands for, by its code (SQLite extended codes such as
 * SQLITE_BUSY_SNAPSHOT or SQLITE_READONLY_DBMOVED count as their primary code), looking
 * through a StorageError to its cause.
 */
export function storageFaultOf(error: unknown): StorageFault | null {
  if (error instanceof StorageError) return error.fault;
  const code = codeOf(error);
  if (code === undefined) return null;
  const primary = code.startsWith('SQLITE_') ? code.split('_').slice(0, 2).join('_') : code;
  return FAULT_BY_CODE[primary] ?? null;
}

function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb < 1) return `${Math.round(bytes / 1024)} KB`;
  return mb >= 10 ? `${Math.round(mb)} MB` : `${mb.toFixed(1)} MB`;
}

/** Free bytes on the disk holding `folder`, or null when the system cannot say. */
export function freeBytesAt(folder: string): number | null {
  try {
    const stats = statfsSync(folder);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

function diskFullSentence(folder: string, bytesStillNeeded: number | undefined): string {
  const free = freeBytesAt(folder);
  const needed = Math.max(MINIMUM_FREE_BYTES, Math.ceil((bytesStillNeeded ?? 0) * 1.5));
  const freeText = free === null ? '' : ` (${megabytes(free)} free)`;
  const forWhat = bytesStillNeeded === undefined ? '' : ` (the samples still to draw need about ${megabytes(bytesStillNeeded)})`;
  return (
    `The disk holding the data folder ${folder} is full${freeText}, so the gallery could not store more. ` +
    `Free at least ${megabytes(needed)} there${forWhat} or start the studio with another data folder (--data); ` +
    `every sample stored before this was kept, and Finish run draws the rest.`
  );
}

function lockedSentence(file: string, lockHolders: readonly string[] | undefined): string {
  const likely =
    lockHolders !== undefined && lockHolders.length > 0
      ? `${lockHolders.join(' or ')}`
      : 'another Guided Diffusion Studio using the same data folder';
  const holder = `another program holds its write lock, most likely ${likely}`;
  return (
    `The gallery ${file} is locked: ${holder}. ` +
    `Close that program, or give this studio a data folder of its own (--data), and try again. Every sample stored before this was kept.`
  );
}

function notWritableSentence(folder: string): string {
  return (
    `The data folder ${folder} cannot be written (it is read-only, or it does not exist and cannot be created). ` +
    `Choose another folder with --data, or fix that folder's permissions so this user can write there.`
  );
}

function missingSentence(path: string): string {
  return `${path} is missing (it may have been moved or deleted while the studio ran). Put it back, or restart the studio so it makes the data folder again.`;
}

/** The data folder could not be made (a read-only disk, a missing parent that cannot be created). */
export function folderNotWritable(folder: string, cause: unknown): StorageError {
  return new StorageError('not-writable', folder, notWritableSentence(folder), cause);
}

/**
 * The error to show for a failed read or write of the gallery: a StorageError with the
 * sentence when the code says which storage fault it was, else the error unchanged.
 */
export function explainStorageFailure(error: unknown, place: StoragePlace): unknown {
  if (error instanceof StorageError && place.bytesStillNeeded === undefined) return error;
  const fault = storageFaultOf(error);
  if (fault === null) return error;
  const cause = error instanceof StorageError ? error.cause : error;
  const folder = dirname(place.file);
  switch (fault) {
    case 'disk-full':
      return new StorageError(fault, folder, diskFullSentence(folder, place.bytesStillNeeded), cause);
    case 'locked':
      return new StorageError(fault, place.file, lockedSentence(place.file, place.lockHolders), cause);
    case 'not-writable':
      return new StorageError(fault, folder, notWritableSentence(folder), cause);
    case 'missing': {
      const path = (cause as { path?: unknown } | null)?.path;
      return new StorageError(fault, typeof path === 'string' ? path : place.file, missingSentence(typeof path === 'string' ? path : place.file), cause);
    }
  }
}
