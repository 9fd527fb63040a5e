import type Database from 'better-sqlite3';
import { STOPPED_RUN_STATUSES, type RunRecord, type StoredRunStatus } from '../../common/contract/gallery';
import { ProviderName, RecordedRunRequest, type RunRequest } from '../../common/contract/run-request';
import { ModelManifest } from '../../common/models/manifest';
import { guidingClassifierSha256 } from '../../common/models/model-identity';
import { GalleryError } from './gallery-error';
import { RUN_LEASE_MS, foreignOwnerIsGone, newOwnerToken } from './owner-process';
import { storageFaultOf } from './storage-error';

interface RunRow {
  id: number;
  model_id: string;
  model_sha256: string;
  classifier_sha256: string | null;
  request: string;
  provider: string;
  provider_fallback: string | null;
  noise_algorithm: string;
  app_version: string;
  status: StoredRunStatus;
  error: string | null;
  evaluation_id: number | null;
  started_at: number;
  ended_at: number | null;
  owner_pid: number | null;
  owner_token: string | null;
  lease_expires_at: number | null;
  sample_count: number;
}

export interface NewRun {
  request: RunRequest;
  /** The execution provider that really runs the job. */
  provider: ProviderName;
  /** Why it is not the provider the request asked for; absent or null when it is. */
  providerFallback?: string | null;
  noiseAlgorithm: string;
  appVersion: string;
  evaluationId?: number | null;
}

export type EndedRunStatus = Exclude<StoredRunStatus, 'running'>;

const RUN_COLUMNS = `r.*, (SELECT count(*) FROM samples s WHERE s.run_id = r.id) AS sample_count`;

/** How long a write that is tried again on the next heartbeat waits for another connection's lock. */
const RETRIED_WRITE_BUSY_TIMEOUT_MS = 100;

/** How a run ended that this gallery could not write yet (the disk was full or another program held the lock). */
interface PendingEnding {
  status: EndedRunStatus;
  error: string | null;
  endedAt: number;
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    modelId: row.model_id,
    modelSha256: row.model_sha256,
    classifierSha256: row.classifier_sha256,
    request: RecordedRunRequest.parse(JSON.parse(row.request)),
    provider: ProviderName.parse(row.provider),
    providerFallback: row.provider_fallback,
    noiseAlgorithm: row.noise_algorithm,
    appVersion: row.app_version,
    status: row.status,
    error: row.error,
    evaluationId: row.evaluation_id,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    sampleCount: row.sample_count,
  };
}

/** Sampling runs: every setting they were started with, and how they ended. */
export class RunsRepository {
  private readonly modelStatement;
  private readonly insertStatement;
  private readonly endStatement;
  private readonly getStatement;
  private readonly listStatement;
  private readonly runningStatement;
  private readonly interruptStatement;
  private readonly reopenStatement;
  private readonly seedsStatement;
  private readonly renewStatement;
  private readonly providerStatement;
  private readonly db: Database.Database;
  private readonly explain: (error: unknown) => unknown;
  /** Identifies the rows this gallery owns, apart from any other gallery on the same file. */
  private readonly ownerToken = newOwnerToken();
  /** Runs this gallery is drawing: their leases are renewed, and they read as running. */
  private readonly owned = new Set<number>();
  private readonly pendingEndings = new Map<number, PendingEnding>();

  /** `explain` turns a failed write into the error the user sees. */
  constructor(db: Database.Database, explain: (error: unknown) => unknown = (error) => error) {
    this.db = db;
    this.explain = explain;
    this.modelStatement = db.prepare<[string], { sha256: string; manifest: string }>('SELECT sha256, manifest FROM models WHERE id = ?');
    this.insertStatement = db.prepare(
      `INSERT INTO runs (model_id, model_sha256, classifier_sha256, request, provider, provider_fallback, noise_algorithm, app_version, status,
                         owner_pid, owner_token, lease_expires_at, started_at, evaluation_id)
       VALUES (@modelId, @modelSha256, @classifierSha256, @request, @provider, @providerFallback, @noiseAlgorithm, @appVersion, 'running',
               @ownerPid, @ownerToken, @leaseExpiresAt, @startedAt, @evaluationId)`,
    );
    // Only the owner ends a run: a studio that lost its lease must not end the run another took over.
    this.endStatement = db.prepare<[EndedRunStatus, string | null, number, number, string]>(
      `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running' AND owner_token = ?`,
    );
    this.getStatement = db.prepare<[number], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id = ?`);
    this.listStatement = db.prepare<[number, number], RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id < ? ORDER BY r.id DESC LIMIT ?`,
    );
    this.runningStatement = db.prepare<[], Pick<RunRow, 'id' | 'owner_pid' | 'owner_token' | 'lease_expires_at'>>(
      `SELECT id, owner_pid, owner_token, lease_expires_at FROM runs WHERE status = 'running'`,
    );
    // The lease must be the one judged expired: an owner that renewed meanwhile keeps its run.
    this.interruptStatement = db.prepare<[number, number, number | null]>(
      `UPDATE runs SET status = 'interrupted', ended_at = ? WHERE id = ? AND status = 'running' AND lease_expires_at IS ?`,
    );
    this.reopenStatement = db.prepare<[number, string, number, number]>(
      `UPDATE runs SET status = 'running', error = NULL, ended_at = NULL, owner_pid = ?, owner_token = ?, lease_expires_at = ?
       WHERE id = ? AND status IN (${STOPPED_RUN_STATUSES.map((status) => `'${status}'`).join(', ')})`,
    );
    this.renewStatement = db.prepare<[number, number, string]>(
      `UPDATE runs SET lease_expires_at = ? WHERE id = ? AND status = 'running' AND owner_token = ?`,
    );
    this.providerStatement = db.prepare<[string, string | null, number, string]>(
      `UPDATE runs SET provider = ?, provider_fallback = ? WHERE id = ? AND status = 'running' AND owner_token = ?`,
    );
    this.seedsStatement = db.prepare<[number], { seed: number }>('SELECT seed FROM samples WHERE run_id = ?');
  }

  /** Records a run as running before its first sample; the model must be registered. */
  start(run: NewRun): RunRecord {
    // The request was parsed where it entered the studio; it is stored as it is.
    const { request } = run;
    const model = this.modelStatement.get(request.modelId);
    if (model === undefined) {
      throw new GalleryError(`Model "${request.modelId}" is not registered in the gallery; register it before starting a run with it.`);
    }
    const now = Date.now();
    const { lastInsertRowid } = this.write(() => this.insertStatement.run({
      modelId: request.modelId,
      modelSha256: model.sha256,
      classifierSha256: guidingClassifierSha256(ModelManifest.parse(JSON.parse(model.manifest)), request.mode),
      request: JSON.stringify(request),
      provider: run.provider,
      providerFallback: run.providerFallback ?? null,
      noiseAlgorithm: run.noiseAlgorithm,
      appVersion: run.appVersion,
      ownerPid: process.pid,
      ownerToken: this.ownerToken,
      leaseExpiresAt: now + RUN_LEASE_MS,
      startedAt: now,
      evaluationId: run.evaluationId ?? null,
    }));
    const runId = Number(lastInsertRowid);
    this.owned.add(runId);
    return this.require(runId);
  }

  /**
   * Records the provider a running run was really drawn on, and why it is not the one asked for
   * (null: it is), once the engine knows: a provider can fail part way and leave the rest to the CPU.
   */
  recordProvider(runId: number, provider: ProviderName, fallback: string | null): RunRecord {
    this.write(() => this.providerStatement.run(provider, fallback, runId, this.ownerToken));
    return this.require(runId);
  }

  /**
   * Marks a running run as ended; a run that already ended keeps its first ending. When the
   * gallery cannot be written (disk full, locked), the ending is kept here, shown by `get`,
   * and written by a later `renewLeases`; the run is no longer drawn either way.
   */
  end(runId: number, status: EndedRunStatus, error: string | null = null): RunRecord {
    this.owned.delete(runId);
    const ending: PendingEnding = { status, error, endedAt: Date.now() };
    try {
      this.withShortBusyWait(() => this.endStatement.run(status, error, ending.endedAt, runId, this.ownerToken));
      this.pendingEndings.delete(runId);
    } catch (failure) {
      if (storageFaultOf(failure) === null) throw failure;
      this.pendingEndings.set(runId, ending);
    }
    return this.require(runId);
  }

  /** Marks a stopped run (or one whose owner is gone) as running again, owned by this gallery, to draw its missing seeds. */
  reopen(runId: number): RunRecord {
    this.interruptIfOrphaned(runId);
    const { changes } = this.write(() => this.reopenStatement.run(process.pid, this.ownerToken, Date.now() + RUN_LEASE_MS, runId));
    if (changes > 0) {
      this.owned.add(runId);
      this.pendingEndings.delete(runId);
    }
    const run = this.require(runId);
    if (changes === 0) throw new GalleryError(`Run ${runId} is ${run.status}; only a stopped run (interrupted, cancelled or failed) can be finished.`);
    return run;
  }

  /** False once another studio has taken the run over (this one stopped renewing in time), or the run ended. */
  holdsLease(runId: number): boolean {
    return this.owned.has(runId);
  }

  /**
   * Renews the lease of every run this gallery draws and writes endings that could not be
   * written before. A failed write waits for the next call; a run whose row no longer names
   * this gallery as its owner was taken over and is dropped.
   */
  renewLeases(): void {
    this.withShortBusyWait(() => this.renewAndWriteEndings());
  }

  /**
   * Runs writes that can be tried again later (a lease renewal, an ending kept for later)
   * with a short wait for another connection's lock: they run on the main thread, and a
   * long wait would freeze the studio for nothing.
   */
  private withShortBusyWait<T>(writes: () => T): T {
    const busyTimeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${RETRIED_WRITE_BUSY_TIMEOUT_MS}`);
    try {
      return writes();
    } finally {
      this.db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  }

  private renewAndWriteEndings(): void {
    const now = Date.now();
    for (const runId of this.owned) {
      try {
        if (this.renewStatement.run(now + RUN_LEASE_MS, runId, this.ownerToken).changes === 0) this.owned.delete(runId);
      } catch (failure) {
        if (storageFaultOf(failure) === null) throw failure;
      }
    }
    for (const [runId, ending] of this.pendingEndings) {
      try {
        this.endStatement.run(ending.status, ending.error, ending.endedAt, runId, this.ownerToken);
        this.pendingEndings.delete(runId);
      } catch (failure) {
        if (storageFaultOf(failure) === null) throw failure;
      }
    }
  }

  /** The seeds of the run's request that have no sample in the gallery, in request order. */
  missingSeeds(runId: number): number[] {
    const run = this.require(runId);
    const drawn = new Map<number, number>();
    for (const { seed } of this.seedsStatement.all(runId)) drawn.set(seed, (drawn.get(seed) ?? 0) + 1);
    return run.request.seeds.filter((seed) => {
      const left = drawn.get(seed) ?? 0;
      if (left > 0) drawn.set(seed, left - 1);
      return left === 0;
    });
  }

  get(runId: number): RunRecord | undefined {
    const row = this.getStatement.get(runId);
    return row === undefined ? undefined : this.recordOf(row, Date.now());
  }

  /** Runs newest first; pass the last id seen as `before` for the next page. */
  list(options: { before?: number; limit?: number } = {}): RunRecord[] {
    const now = Date.now();
    return this.listStatement.all(options.before ?? Number.MAX_SAFE_INTEGER, options.limit ?? 50).map((row) => this.recordOf(row, now));
  }

  /**
   * Runs still marked running whose owner is gone died with it (a crash, a kill, a power
   * cut, or a studio on the same folder that stopped renewing its lease): they become
   * `interrupted`, keeping every sample they committed.
   */
  markInterrupted(): number[] {
    const now = Date.now();
    const orphans = this.runningStatement.all().filter((row) => this.isOrphaned(row, now));
    const marked: number[] = [];
    for (const row of orphans) {
      if (this.write(() => this.interruptStatement.run(now, row.id, row.lease_expires_at)).changes > 0) marked.push(row.id);
    }
    return marked;
  }

  /** Runs still running that another live studio is drawing (their owners' pids), for a lock message. */
  otherLiveOwners(): number[] {
    const now = Date.now();
    const pids = this.runningStatement
      .all()
      .filter((row) => row.owner_token !== this.ownerToken && !this.isOrphaned(row, now))
      .map((row) => row.owner_pid)
      .filter((pid): pid is number => pid !== null);
    return [...new Set(pids)];
  }

  private interruptIfOrphaned(runId: number): void {
    const row = this.getStatement.get(runId);
    if (row !== undefined && this.isOrphaned(row, Date.now())) {
      this.write(() => this.interruptStatement.run(Date.now(), runId, row.lease_expires_at));
    }
  }

  /** A row marked running that nobody draws any more: this gallery's own when it stopped drawing it, another's when its owner is gone. */
  private isOrphaned(row: Pick<RunRow, 'id' | 'owner_pid' | 'owner_token' | 'lease_expires_at'>, now: number): boolean {
    if (row.owner_token === this.ownerToken) return !this.owned.has(row.id);
    return foreignOwnerIsGone({ ownerPid: row.owner_pid, ownerToken: row.owner_token, leaseExpiresAt: row.lease_expires_at }, now);
  }

  /** The run as the user should see it: an ending not yet written, or `interrupted` for a run nobody draws. */
  private recordOf(row: RunRow, now: number): RunRecord {
    const record = toRunRecord(row);
    const pending = this.pendingEndings.get(row.id);
    if (pending !== undefined && row.status === 'running') return { ...record, status: pending.status, error: pending.error, endedAt: pending.endedAt };
    if (row.status === 'running' && this.isOrphaned(row, now)) return { ...record, status: 'interrupted' };
    return record;
  }

  private write<T>(statement: () => T): T {
    try {
      return statement();
    } catch (error) {
      throw this.explain(error);
    }
  }

  private require(runId: number): RunRecord {
    const run = this.get(runId);
    if (run === undefined) throw new GalleryError(`Run ${runId} is not in the gallery.`);
    return run;
  }
}
