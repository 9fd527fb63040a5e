import type Database from 'better-sqlite3';
import { STOPPED_RUN_STATUSES, type RunRecord, type StoredRunStatus } from '../../common/contract/gallery';
import { ProviderName, RunRequest } from '../../common/contract/run-request';
import { ModelManifest } from '../../common/models/manifest';
import { guidingClassifierSha256 } from '../../common/models/model-identity';
import { GalleryError } from './gallery-error';
import { ownerIsGone } from './owner-process';

interface RunRow {
  id: number;
  model_id: string;
  model_sha256: string;
  classifier_sha256: string | null;
  request: string;
  provider: string;
  noise_algorithm: string;
  app_version: string;
  status: StoredRunStatus;
  error: string | null;
  evaluation_id: number | null;
  started_at: number;
  ended_at: number | null;
  sample_count: number;
}

export interface NewRun {
  request: RunRequest;
  /** The execution provider that really runs the job. */
  provider: ProviderName;
  noiseAlgorithm: string;
  appVersion: string;
  evaluationId?: number | null;
}

export type EndedRunStatus = Exclude<StoredRunStatus, 'running'>;

const RUN_COLUMNS = `r.*, (SELECT count(*) FROM samples s WHERE s.run_id = r.id) AS sample_count`;

export function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    modelId: row.model_id,
    modelSha256: row.model_sha256,
    classifierSha256: row.classifier_sha256,
    request: RunRequest.parse(JSON.parse(row.request)),
    provider: ProviderName.parse(row.provider),
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

  constructor(db: Database.Database) {
    this.modelStatement = db.prepare<[string], { sha256: string; manifest: string }>('SELECT sha256, manifest FROM models WHERE id = ?');
    this.insertStatement = db.prepare(
      `INSERT INTO runs (model_id, model_sha256, classifier_sha256, request, provider, noise_algorithm, app_version, status, owner_pid, started_at, evaluation_id)
       VALUES (@modelId, @modelSha256, @classifierSha256, @request, @provider, @noiseAlgorithm, @appVersion, 'running', @ownerPid, @startedAt, @evaluationId)`,
    );
    this.endStatement = db.prepare<[EndedRunStatus, string | null, number, number]>(
      `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running'`,
    );
    this.getStatement = db.prepare<[number], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id = ?`);
    this.listStatement = db.prepare<[number, number], RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id < ? ORDER BY r.id DESC LIMIT ?`,
    );
    this.runningStatement = db.prepare<[], { id: number; owner_pid: number | null }>(
      `SELECT id, owner_pid FROM runs WHERE status = 'running'`,
    );
    this.interruptStatement = db.prepare<[number, number]>(
      `UPDATE runs SET status = 'interrupted', ended_at = ? WHERE id = ? AND status = 'running'`,
    );
    this.reopenStatement = db.prepare<[number, number]>(
      `UPDATE runs SET status = 'running', error = NULL, ended_at = NULL, owner_pid = ?
       WHERE id = ? AND status IN (${STOPPED_RUN_STATUSES.map((status) => `'${status}'`).join(', ')})`,
    );
    this.seedsStatement = db.prepare<[number], { seed: number }>('SELECT seed FROM samples WHERE run_id = ?');
  }

  /** Records a run as running before its first sample; the model must be registered. */
  start(run: NewRun): RunRecord {
    const request = RunRequest.parse(run.request);
    const model = this.modelStatement.get(request.modelId);
    if (model === undefined) {
      throw new GalleryError(`Model "${request.modelId}" is not registered in the gallery; register it before starting a run with it.`);
    }
    const { lastInsertRowid } = this.insertStatement.run({
      modelId: request.modelId,
      modelSha256: model.sha256,
      classifierSha256: guidingClassifierSha256(ModelManifest.parse(JSON.parse(model.manifest)), request.mode),
      request: JSON.stringify(request),
      provider: run.provider,
      noiseAlgorithm: run.noiseAlgorithm,
      appVersion: run.appVersion,
      ownerPid: process.pid,
      startedAt: Date.now(),
      evaluationId: run.evaluationId ?? null,
    });
    return this.require(Number(lastInsertRowid));
  }

  /** Marks a running run as ended; a run that already ended keeps its first ending. */
  end(runId: number, status: EndedRunStatus, error: string | null = null): RunRecord {
    this.endStatement.run(status, error, Date.now(), runId);
    return this.require(runId);
  }

  /** Marks a stopped run as running again, owned by this process, to draw its missing seeds. */
  reopen(runId: number): RunRecord {
    const { changes } = this.reopenStatement.run(process.pid, runId);
    const run = this.require(runId);
    if (changes === 0) throw new GalleryError(`Run ${runId} is ${run.status}; only a stopped run (interrupted, cancelled or failed) can be finished.`);
    return run;
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
    return row === undefined ? undefined : toRunRecord(row);
  }

  /** Runs newest first; pass the last id seen as `before` for the next page. */
  list(options: { before?: number; limit?: number } = {}): RunRecord[] {
    return this.listStatement.all(options.before ?? Number.MAX_SAFE_INTEGER, options.limit ?? 50).map(toRunRecord);
  }

  /**
   * Runs still marked running whose process is gone died with it (a crash, a kill, a
   * power cut): they become `interrupted`, keeping every sample they committed.
   */
  markInterrupted(): number[] {
    const orphans = this.runningStatement.all().filter((run) => ownerIsGone(run.owner_pid));
    const now = Date.now();
    for (const run of orphans) this.interruptStatement.run(now, run.id);
    return orphans.map((run) => run.id);
  }

  private require(runId: number): RunRecord {
    const run = this.get(runId);
    if (run === undefined) throw new GalleryError(`Run ${runId} is not in the gallery.`);
    return run;
  }
}
