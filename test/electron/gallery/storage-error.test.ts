import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GalleryError, openGallery, StorageError, storageFaultOf } from '../../../electron/gallery';
import { explainStorageFailure, freeBytesAt } from '../../../electron/gallery/storage-error';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
afterEach(() => folder?.remove());

function codeError(code: string, path?: string): Error {
  return Object.assign(new Error(`raw ${code}`), { code, ...(path === undefined ? {} : { path }) });
}

describe('storage faults by error code', () => {
  it.each([
    ['SQLITE_FULL', 'disk-full'],
    ['ENOSPC', 'disk-full'],
    ['SQLITE_BUSY', 'locked'],
    ['SQLITE_BUSY_SNAPSHOT', 'locked'],
    ['SQLITE_LOCKED', 'locked'],
    ['SQLITE_READONLY', 'not-writable'],
    ['SQLITE_READONLY_DBMOVED', 'not-writable'],
    ['SQLITE_CANTOPEN', 'not-writable'],
    ['EACCES', 'not-writable'],
    ['EROFS', 'not-writable'],
    ['ENOENT', 'missing'],
  ])('%s is a %s fault', (code, fault) => {
    expect(storageFaultOf(codeError(code))).toBe(fault);
  });

  it('leaves errors that are not about storage unchanged', () => {
    const constraint = codeError('SQLITE_CONSTRAINT_UNIQUE');
    expect(storageFaultOf(constraint)).toBeNull();
    expect(explainStorageFailure(constraint, { file: '/data/gallery.sqlite' })).toBe(constraint);
    const plain = new Error('a bug');
    expect(explainStorageFailure(plain, { file: '/data/gallery.sqlite' })).toBe(plain);
  });

  it('says which folder is full, how much is free there, and how much to free', () => {
    folder = temporaryFolder();
    const file = join(folder.dir, 'gallery.sqlite');
    const free = freeBytesAt(folder.dir);
    expect(free).toBeGreaterThan(0);
    const explained = explainStorageFailure(codeError('SQLITE_FULL'), { file, bytesStillNeeded: 200 * 1024 * 1024 }) as StorageError;
    expect(explained).toBeInstanceOf(StorageError);
    expect(explained.fault).toBe('disk-full');
    expect(explained.path).toBe(folder.dir);
    expect(explained.message).toContain(`The disk holding the data folder ${folder.dir} is full (`);
    // 1.5 × the 200 MB still to draw, for SQLite's journal and pages.
    expect(explained.message).toContain('Free at least 300 MB there (the samples still to draw need about 200 MB)');
    const small = explainStorageFailure(codeError('ENOSPC'), { file, bytesStillNeeded: 3000 }) as StorageError;
    expect(small.message).toContain('Free at least 50 MB there (the samples still to draw need about 3 KB)');
  });

  it('names the locked file and who most likely holds it', () => {
    const explained = explainStorageFailure(codeError('SQLITE_BUSY'), {
      file: '/data/gallery.sqlite',
      lockHolders: ['process 4242 (another Guided Diffusion Studio drawing a run there)'],
    }) as StorageError;
    expect(explained.message).toBe(
      'The gallery /data/gallery.sqlite is locked: another program holds its write lock, most likely process 4242 (another Guided Diffusion Studio drawing a run there). ' +
        'Close that program, or give this studio a data folder of its own (--data), and try again. Every sample stored before this was kept.',
    );
  });

  it('names the missing file an ENOENT was about', () => {
    let thrown: unknown;
    try {
      readFileSync('/nonexistent-folder/gallery.sqlite');
    } catch (error) {
      thrown = error;
    }
    const explained = explainStorageFailure(thrown, { file: '/data/gallery.sqlite' }) as StorageError;
    expect(explained.fault).toBe('missing');
    expect(explained.message).toBe(
      '/nonexistent-folder/gallery.sqlite is missing (it may have been moved or deleted while the studio ran). Put it back, or restart the studio so it makes the data folder again.',
    );
    expect(explained.cause).toBe(thrown);
  });

  it('is a GalleryError, so every layer that passes gallery messages on passes these on', () => {
    expect(explainStorageFailure(codeError('EROFS'), { file: '/data/gallery.sqlite' })).toBeInstanceOf(GalleryError);
  });
});

describe('a gallery whose data folder cannot be made', () => {
  it('says which folder and what to do instead of "unable to open database file"', () => {
    folder = temporaryFolder();
    // A data folder inside a plain file can never be created, whoever runs the studio.
    const blocker = join(folder.dir, 'a-file');
    new Database(blocker).close();
    const dataDir = join(blocker, 'studio');
    expect(() => openGallery(join(dataDir, 'gallery.sqlite'))).toThrow(
      `The data folder ${dataDir} cannot be written (it is read-only, or it does not exist and cannot be created). ` +
        `Choose another folder with --data, or fix that folder's permissions so this user can write there.`,
    );
  });
});

describe('a gallery locked by another connection', () => {
  it('fails a sample write after the busy timeout with the sentence naming the file, and reads still answer', () => {
    folder = temporaryFolder();
    const file = join(folder.dir, 'gallery.sqlite');
    const gallery = openGallery(file, { busyTimeoutMs: 50 });
    gallery.models.register(testManifest(), 'b'.repeat(64));
    const run = gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    gallery.samples.add(run.id, { seed: 1, png: testPng(8, 1) });
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      let thrown: unknown;
      try {
        gallery.samples.add(run.id, { seed: 2, png: testPng(8, 2) });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StorageError);
      expect((thrown as StorageError).fault).toBe('locked');
      expect((thrown as Error).message).toContain(`The gallery ${file} is locked: another program holds its write lock`);
      expect(gallery.samples.list({}).items.map((sample) => sample.seed)).toEqual([1]);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(gallery.samples.add(run.id, { seed: 2, png: testPng(8, 2) }).seed).toBe(2);
    gallery.close();
  });
});
