import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openGallery, type Gallery } from '../../../electron/gallery';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
let file: string;
const opened: Gallery[] = [];
const children: ChildProcess[] = [];
beforeEach(() => {
  folder = temporaryFolder();
  file = join(folder.dir, 'gallery.sqlite');
});
afterEach(() => {
  for (const gallery of opened.splice(0)) gallery.close();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  folder.remove();
});

function open(): Gallery {
  const gallery = openGallery(file, { busyTimeoutMs: 50 });
  opened.push(gallery);
  return gallery;
}

function startRun(gallery: Gallery): number {
  gallery.models.register(testManifest(), 'b'.repeat(64));
  return gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION }).id;
}

/** Writes straight to the file, as another program would. */
function raw<T>(write: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return write(db);
  } finally {
    db.close();
  }
}

const leaseOf = (runId: number) => raw((db) => db.prepare<[number], { lease: number }>('SELECT lease_expires_at AS lease FROM runs WHERE id = ?').get(runId)!.lease);

describe('the lease on a running run', () => {
  it('keeps a run that its owner renews running for another studio, and renewing moves the lease on', async () => {
    const owner = open();
    const other = open();
    const runId = startRun(owner);
    expect(other.runs.get(runId)?.status).toBe('running');
    const first = leaseOf(runId);
    await new Promise((wait) => setTimeout(wait, 5));
    owner.runs.renewLeases();
    expect(leaseOf(runId)).toBeGreaterThan(first);
    expect(other.runs.get(runId)?.status).toBe('running');
    expect(other.runs.markInterrupted()).toEqual([]);
  });

  it('shows a run whose lease ran out as interrupted to another studio, which may take it over; the first then stops drawing it', () => {
    const owner = open();
    const survivor = open();
    const runId = startRun(owner);
    owner.samples.add(runId, { seed: 1, png: testPng(8, 1) });
    // The owner is alive (it is this very process) but stopped renewing: a hung studio.
    raw((db) => db.prepare('UPDATE runs SET lease_expires_at = ? WHERE id = ?').run(Date.now() - 1, runId));

    expect(survivor.runs.get(runId)?.status).toBe('interrupted');
    expect(survivor.runs.list().find((run) => run.id === runId)?.status).toBe('interrupted');
    const reopened = survivor.runs.reopen(runId);
    expect(reopened.status).toBe('running');
    expect(survivor.runs.holdsLease(runId)).toBe(true);

    expect(owner.runs.holdsLease(runId)).toBe(true);
    owner.runs.renewLeases();
    expect(owner.runs.holdsLease(runId)).toBe(false);
    // The first owner's late ending does not undo the takeover.
    owner.runs.end(runId, 'completed');
    expect(survivor.runs.get(runId)?.status).toBe('running');
  });

  it('tells a reused pid from the studio that wrote the row: an expired lease wins over a live pid', () => {
    const owner = open();
    const runId = startRun(owner);
    const stranger = spawn('sleep', ['30']);
    children.push(stranger);
    raw((db) => db.prepare('UPDATE runs SET owner_pid = ?, owner_token = ? WHERE id = ?').run(stranger.pid, 'another-studio', runId));
    const reader = open();
    expect(reader.runs.get(runId)?.status).toBe('running');
    raw((db) => db.prepare('UPDATE runs SET lease_expires_at = ? WHERE id = ?').run(Date.now() - 1, runId));
    expect(reader.runs.get(runId)?.status).toBe('interrupted');
    expect(reader.runs.markInterrupted()).toEqual([runId]);
    expect(raw((db) => db.prepare<[number], { status: string }>('SELECT status FROM runs WHERE id = ?').get(runId)!.status)).toBe('interrupted');
  });

  it('judges rows from before leases by their pid alone', () => {
    const owner = open();
    const runId = startRun(owner);
    const reader = open();
    raw((db) => db.prepare('UPDATE runs SET owner_token = NULL, lease_expires_at = NULL, owner_pid = ? WHERE id = ?').run(process.pid, runId));
    expect(reader.runs.get(runId)?.status).toBe('running');
    raw((db) => db.prepare('UPDATE runs SET owner_pid = NULL WHERE id = ?').run(runId));
    expect(reader.runs.get(runId)?.status).toBe('interrupted');
  });

  it('keeps an ending it cannot write while the file is locked, shows it, and writes it once the lock is gone', () => {
    const owner = open();
    const runId = startRun(owner);
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    let ended;
    try {
      ended = owner.runs.end(runId, 'failed', 'The disk is full.');
      owner.runs.renewLeases();
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    expect(ended).toMatchObject({ status: 'failed', error: 'The disk is full.' });
    expect(raw((db) => db.prepare<[number], { status: string }>('SELECT status FROM runs WHERE id = ?').get(runId)!.status)).toBe('running');
    owner.runs.renewLeases();
    const reader = open();
    expect(reader.runs.get(runId)).toMatchObject({ status: 'failed', error: 'The disk is full.' });
  });
});
