import type Database from 'better-sqlite3';
import { DONE_QUEUE_STATUSES, type QueueEntryKind, type QueueEntryStatus } from '../../common/contract/queue';
import { GalleryError } from './gallery-error';
import { newOwnerToken, ownerIsGone } from './owner-process';

interface QueueRow {
  id: number;
  kind: QueueEntryKind;
  payload: string;
  status: QueueEntryStatus;
  position: number;
  label: string;
  sweep_id: string | null;
  run_id: number | null;
  evaluation_id: number | null;
  total_samples: number;
  error: string | null;
  owner_pid: number | null;
  owner_token: string | null;
  created_at: number;
  ended_at: number | null;
}

export interface NewQueueEntry {
  kind: QueueEntryKind;
  /** What the entry draws; stored as JSON and read back by the one who queued it. */
  payload: unknown;
  label: string;
  sweepId: string | null;
  runId?: number | null;
  evaluationId?: number | null;
  totalSamples: number;
}

export interface StoredQueueEntry {
  id: number;
  kind: QueueEntryKind;
  payload: unknown;
  status: QueueEntryStatus;
  label: string;
  sweepId: string | null;
  runId: number | null;
  evaluationId: number | null;
  totalSamples: number;
  error: string | null;
  createdAt: number;
}

export type DoneQueueStatus = 'completed' | 'cancelled' | 'failed';

const doneList = DONE_QUEUE_STATUSES.map((status) => `'${status}'`).join(', ');

function toEntry(row: QueueRow): StoredQueueEntry {
  return {
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    status: row.status,
    label: row.label,
    sweepId: row.sweep_id,
    runId: row.run_id,
    evaluationId: row.evaluation_id,
    totalSamples: row.total_samples,
    error: row.error,
    createdAt: row.created_at,
  };
}

/**
 * The job queue's rows. Entries belong to the studio that queued them (pid and a random
 * token); when a studio opens, it takes over the entries of one that is gone, so a crash
 * loses nothing that was queued.
 */
export class QueueRepository {
  private readonly ownerToken = newOwnerToken();
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  private row(id: number): QueueRow | undefined {
    return this.db.prepare<[number], QueueRow>('SELECT * FROM queue_entries WHERE id = ?').get(id);
  }

  get(id: number): StoredQueueEntry | undefined {
    const row = this.row(id);
    return row === undefined ? undefined : toEntry(row);
  }

  paused(): boolean {
    return this.db.prepare<[], { paused: number }>('SELECT paused FROM queue_state WHERE id = 1').get()?.paused === 1;
  }

  /** Adds entries behind the waiting ones, in one transaction; they wait as `paused` while the queue is. */
  add(entries: readonly NewQueueEntry[]): StoredQueueEntry[] {
    const insert = this.db.prepare(
      `INSERT INTO queue_entries (kind, payload, status, position, label, sweep_id, run_id, evaluation_id, total_samples, owner_pid, owner_token, created_at)
       VALUES (@kind, @payload, @status, @position, @label, @sweepId, @runId, @evaluationId, @totalSamples, @ownerPid, @ownerToken, @createdAt)`,
    );
    return this.db
      .transaction(() => {
        const last = this.db.prepare<[], { last: number | null }>('SELECT max(position) AS last FROM queue_entries').get()?.last ?? 0;
        const status: QueueEntryStatus = this.paused() ? 'paused' : 'queued';
        return entries.map((entry, index) => {
          const { lastInsertRowid } = insert.run({
            kind: entry.kind,
            payload: JSON.stringify(entry.payload),
            status,
            position: last + index + 1,
            label: entry.label,
            sweepId: entry.sweepId,
            runId: entry.runId ?? null,
            evaluationId: entry.evaluationId ?? null,
            totalSamples: entry.totalSamples,
            ownerPid: process.pid,
            ownerToken: this.ownerToken,
            createdAt: Date.now(),
          });
          return this.get(Number(lastInsertRowid)) as StoredQueueEntry;
        });
      })
      .immediate();
  }

  /** The first waiting entry of this studio, now marked running; undefined when none waits or the queue is paused. */
  claimNext(): StoredQueueEntry | undefined {
    return this.db
      .transaction(() => {
        const next = this.db
          .prepare<[string], QueueRow>(`SELECT * FROM queue_entries WHERE status = 'queued' AND owner_token = ? ORDER BY position LIMIT 1`)
          .get(this.ownerToken);
        if (next === undefined) return undefined;
        this.db.prepare<[number]>(`UPDATE queue_entries SET status = 'running' WHERE id = ?`).run(next.id);
        return this.get(next.id);
      })
      .immediate();
  }

  attachRun(id: number, runId: number): void {
    this.db.prepare<[number, number]>('UPDATE queue_entries SET run_id = ? WHERE id = ?').run(runId, id);
  }

  /** Records how an entry ended; an entry that already ended keeps its first ending. */
  finish(id: number, status: DoneQueueStatus, error: string | null = null): void {
    this.db
      .prepare<[DoneQueueStatus, string | null, number, number]>(
        `UPDATE queue_entries SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status NOT IN (${doneList})`,
      )
      .run(status, error, Date.now(), id);
  }

  /** Puts a running entry back at the head of the waiting ones (the studio is closing and another will carry on). */
  requeue(id: number): void {
    this.db.transaction(() => {
      const status: QueueEntryStatus = this.paused() ? 'paused' : 'queued';
      this.db.prepare<[QueueEntryStatus, number]>(`UPDATE queue_entries SET status = ? WHERE id = ? AND status = 'running'`).run(status, id);
    })();
  }

  /** Lets go of this studio's unfinished entries, so the next studio on the folder takes them over. */
  handBack(): void {
    this.db.prepare<[string]>(`UPDATE queue_entries SET owner_pid = NULL, owner_token = NULL WHERE owner_token = ? AND status NOT IN (${doneList})`).run(this.ownerToken);
  }

  /**
   * Takes over the unfinished entries nobody holds. Those a closed studio handed back carry
   * on as they were (a running one waits again at its place, to go on from what it finished);
   * those of a studio that died are held as `paused` until the queue is resumed, so whatever
   * brought that studio down does not bring this one down at once. Returns their ids.
   */
  adoptOrphans(): number[] {
    return this.db
      .transaction(() => {
        const rows = this.db
          .prepare<[], Pick<QueueRow, 'id' | 'owner_pid' | 'owner_token' | 'status'>>(
            `SELECT id, owner_pid, owner_token, status FROM queue_entries WHERE status NOT IN (${doneList})`,
          )
          .all();
        const waitingStatus: QueueEntryStatus = this.paused() ? 'paused' : 'queued';
        const adopt = this.db.prepare<[QueueEntryStatus, number, string, number]>(
          'UPDATE queue_entries SET status = ?, owner_pid = ?, owner_token = ? WHERE id = ?',
        );
        const adopted: number[] = [];
        for (const row of rows) {
          const released = row.owner_token === null;
          if (!released && !ownerIsGone(row.owner_pid)) continue;
          const status: QueueEntryStatus = !released ? 'paused' : row.status === 'running' ? waitingStatus : row.status;
          adopt.run(status, process.pid, this.ownerToken, row.id);
          adopted.push(row.id);
        }
        return adopted;
      })
      .immediate();
  }

  /** Lets a held entry run next: first among the waiting ones, and queued unless the whole queue is paused. */
  release(id: number): void {
    this.db
      .transaction(() => {
        this.move(id, 0);
        if (!this.paused()) this.db.prepare<[number]>(`UPDATE queue_entries SET status = 'queued' WHERE id = ? AND status = 'paused'`).run(id);
      })
      .immediate();
  }

  /** Whether this studio holds the entry (it queued it or took it over). */
  holds(id: number): boolean {
    return this.row(id)?.owner_token === this.ownerToken;
  }

  /** The running entries first, then the waiting ones in the order they run, then up to `doneLimit` done ones, newest first. */
  list(doneLimit = 50): StoredQueueEntry[] {
    const active = this.db
      .prepare<[], QueueRow>(`SELECT * FROM queue_entries WHERE status NOT IN (${doneList}) ORDER BY status <> 'running', position`)
      .all();
    const done = this.db.prepare<[number], QueueRow>(`SELECT * FROM queue_entries WHERE status IN (${doneList}) ORDER BY ended_at DESC, id DESC LIMIT ?`).all(doneLimit);
    return [...active, ...done].map(toEntry);
  }

  /** Waiting entries (queued or paused), in the order they run, optionally of one kind. */
  waiting(kind?: QueueEntryKind): StoredQueueEntry[] {
    return this.db
      .prepare<[], QueueRow>(`SELECT * FROM queue_entries WHERE status IN ('queued', 'paused') ORDER BY position`)
      .all()
      .map(toEntry)
      .filter((entry) => kind === undefined || entry.kind === kind);
  }

  /** Entries running or waiting that a live studio on this folder holds (this one or another); a dead studio's wait to be taken over. */
  active(): StoredQueueEntry[] {
    return this.db
      .prepare<[], QueueRow>(`SELECT * FROM queue_entries WHERE status NOT IN (${doneList}) ORDER BY position`)
      .all()
      .filter((row) => row.owner_token === this.ownerToken || (row.owner_token !== null && !ownerIsGone(row.owner_pid)))
      .map(toEntry);
  }

  /** Pauses or resumes the queue: waiting entries become `paused` or `queued`. Returns the ids that changed. */
  setPaused(paused: boolean): number[] {
    return this.db
      .transaction(() => {
        this.db.prepare<[number]>('UPDATE queue_state SET paused = ? WHERE id = 1').run(paused ? 1 : 0);
        const [from, to] = paused ? ['queued', 'paused'] : ['paused', 'queued'];
        const ids = this.db.prepare<[string], { id: number }>('SELECT id FROM queue_entries WHERE status = ?').all(from).map((row) => row.id);
        this.db.prepare<[string, string]>('UPDATE queue_entries SET status = ? WHERE status = ?').run(to, from);
        return ids;
      })
      .immediate();
  }

  /** Moves a waiting entry to `index` among the waiting ones (clamped to the ends). */
  move(id: number, index: number): void {
    this.db
      .transaction(() => {
        const order = this.waiting().map((entry) => entry.id);
        const from = order.indexOf(id);
        if (from < 0) throw new GalleryError(this.notWaitingSentence(id, 'moved'));
        order.splice(from, 1);
        order.splice(Math.min(Math.max(index, 0), order.length), 0, id);
        const first = this.db.prepare<[], { first: number | null }>(`SELECT min(position) AS first FROM queue_entries WHERE status IN ('queued', 'paused')`).get()?.first ?? 1;
        const place = this.db.prepare<[number, number]>('UPDATE queue_entries SET position = ? WHERE id = ?');
        order.forEach((entryId, offset) => place.run(first + offset, entryId));
      })
      .immediate();
  }

  /** Deletes a waiting or done entry (the caller cancels a waiting one first); a running one must be cancelled first. */
  remove(id: number): boolean {
    const row = this.row(id);
    if (row === undefined) return false;
    if (row.status === 'running') throw new GalleryError(`Job ${id} is running; cancel it first, then remove it.`);
    return this.db.prepare<[number]>('DELETE FROM queue_entries WHERE id = ?').run(id).changes > 0;
  }

  private notWaitingSentence(id: number, what: string): string {
    const row = this.row(id);
    if (row === undefined) return `Job ${id} is not in the queue; it may have been removed.`;
    return `Job ${id} is ${row.status}; only a waiting job can be ${what}.`;
  }
}
