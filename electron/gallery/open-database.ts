import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GalleryError } from './gallery-error';
import { LATEST_VERSION, migrations } from './migrations';

/** Long enough to outlast another studio's commit of one sample; short enough not to freeze this one. */
export const DEFAULT_BUSY_TIMEOUT_MS = 3_000;

export interface OpenDatabaseOptions {
  /** Apply migrations only up to this version (tests build every earlier version this way). */
  targetVersion?: number;
  /**
   * How long a statement waits for another connection's write lock before failing. A
   * wait blocks the thread (better-sqlite3 is synchronous), so it is kept to a few seconds:
   * a held lock then fails the write with a sentence instead of freezing the studio.
   */
  busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  db: Database.Database;
  /** The version the file had before opening (0 for a new file). */
  previousVersion: number;
  /** Where the pre-migration copy went, or null when nothing was migrated or the file was new. */
  backupFile: string | null;
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function readVersionOrExplain(db: Database.Database, file: string): number {
  try {
    return userVersion(db);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new GalleryError(
        `"${file}" is not a Guided Diffusion Studio gallery (it is not an SQLite database, or it is damaged). Move that file aside or choose another data folder; it was not changed.`,
      );
    }
    throw error;
  }
}

function backupName(file: string, version: number): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return `${file}.v${version}-${stamp}.backup`;
}

/**
 * Opens (creating if needed) the gallery database, refuses a file from a newer studio
 * without touching it, copies an older file aside and migrates it in one transaction.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): OpenedDatabase {
  const targetVersion = options.targetVersion ?? LATEST_VERSION;
  const isNewFile = file === ':memory:' || !existsSync(file);
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  try {
    const previousVersion = readVersionOrExplain(db, file);
    if (previousVersion > LATEST_VERSION) {
      throw new GalleryError(
        `The gallery "${file}" was written by a newer Guided Diffusion Studio (schema version ${previousVersion}; this version reads up to ${LATEST_VERSION}). Update the studio to open it; the file was not changed.`,
      );
    }
    db.pragma('journal_mode = WAL');
    // FULL makes every committed sample durable on power loss as well as on a killed process.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');

    let backupFile: string | null = null;
    if (previousVersion < targetVersion && previousVersion > 0 && !isNewFile) {
      backupFile = backupName(file, previousVersion);
      db.prepare('VACUUM INTO ?').run(backupFile);
    }
    migrate(db, targetVersion);
    return { db, previousVersion, backupFile };
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database, targetVersion: number): void {
  const apply = db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const current = userVersion(db);
    for (const migration of migrations) {
      if (migration.version <= current || migration.version > targetVersion) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    const violations = db.pragma('foreign_key_check') as unknown[];
    if (violations.length > 0) {
      throw new GalleryError(`Migrating the gallery left ${violations.length} broken references; nothing was changed. Please report this.`);
    }
  });
  if (userVersion(db) < targetVersion) apply.immediate();
}
