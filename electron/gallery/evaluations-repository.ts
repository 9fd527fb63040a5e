import type Database from 'better-sqlite3';
import {
  EvaluationProvenance,
  type EvaluationRecord,
  EvaluationResult,
  type EvaluationResultInput,
  EvaluationSpec,
  type EvaluationSpecInput,
  type EvaluationStatus,
} from '../../common/contract/evaluation';
import { GalleryError } from './gallery-error';
import { ownerIsGone } from './owner-process';

interface EvaluationRow {
  id: number;
  spec: string;
  status: EvaluationStatus;
  error: string | null;
  created_at: number;
  ended_at: number | null;
}

interface ResultRow {
  scale: number;
  sampleCount: number;
  fid: number | null;
  sfid: number | null;
  inceptionScore: number | null;
  inceptionSplitSizes: string | null;
  precision: number | null;
  recall: number | null;
  density: number | null;
  coverage: number | null;
  classAccuracy: number | null;
  provenance: string | null;
}

function resultOfRow(row: ResultRow): EvaluationResult {
  return EvaluationResult.parse({
    ...row,
    inceptionSplitSizes: row.inceptionSplitSizes === null ? null : JSON.parse(row.inceptionSplitSizes),
    provenance: row.provenance === null ? null : EvaluationProvenance.parse(JSON.parse(row.provenance)),
  });
}

/** A shard of a sharded evaluation as the gallery keeps it; `result` is the worker's answer as JSON. */
export interface StoredShard {
  scale: number;
  firstSeed: number;
  seedCount: number;
  worker: string;
  result: string;
}

/**
 * Evaluation runs (a model, classes, guidance scales and sampler settings) and their
 * metrics per scale. Their samples are ordinary gallery samples whose runs point back
 * here, so a restarted evaluation can skip the seeds it already has.
 */
export class EvaluationsRepository {
  private readonly insertStatement;
  private readonly statusStatement;
  private readonly getStatement;
  private readonly listStatement;
  private readonly resultsStatement;
  private readonly saveResultStatement;
  private readonly seedsStatement;
  private readonly runningStatement;
  private readonly saveShardStatement;
  private readonly shardsStatement;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare<[string, string, number, number]>(
      `INSERT INTO evaluations (spec, model_id, status, owner_pid, created_at) VALUES (?, ?, 'pending', ?, ?)`,
    );
    this.statusStatement = db.prepare<[EvaluationStatus, string | null, number | null, number | null, number]>(
      'UPDATE evaluations SET status = ?, error = ?, ended_at = ?, owner_pid = coalesce(?, owner_pid) WHERE id = ?',
    );
    this.getStatement = db.prepare<[number], EvaluationRow>('SELECT * FROM evaluations WHERE id = ?');
    this.listStatement = db.prepare<[], EvaluationRow>('SELECT * FROM evaluations ORDER BY id DESC');
    this.resultsStatement = db.prepare<[number], ResultRow>(
      `SELECT scale, sample_count AS sampleCount, fid, sfid, inception_score AS inceptionScore,
              inception_split_sizes AS inceptionSplitSizes, precision, recall, density, coverage,
              class_accuracy AS classAccuracy, provenance
       FROM evaluation_results WHERE evaluation_id = ? ORDER BY scale`,
    );
    this.saveResultStatement = db.prepare(
      `INSERT INTO evaluation_results (evaluation_id, scale, sample_count, fid, sfid, inception_score, inception_split_sizes,
                                       precision, recall, density, coverage, class_accuracy, provenance)
       VALUES (@evaluationId, @scale, @sampleCount, @fid, @sfid, @inceptionScore, @inceptionSplitSizes,
               @precision, @recall, @density, @coverage, @classAccuracy, @provenance)
       ON CONFLICT (evaluation_id, scale) DO UPDATE SET sample_count = excluded.sample_count, fid = excluded.fid,
         sfid = excluded.sfid, inception_score = excluded.inception_score, inception_split_sizes = excluded.inception_split_sizes,
         precision = excluded.precision, recall = excluded.recall, density = excluded.density, coverage = excluded.coverage,
         class_accuracy = excluded.class_accuracy, provenance = excluded.provenance`,
    );
    this.seedsStatement = db.prepare<[number, number, number], { seed: number; sampleId: number }>(
      `SELECT s.seed, min(s.id) AS sampleId FROM samples s JOIN runs r ON r.id = s.run_id
       WHERE r.evaluation_id = ? AND s.scale = ? AND s.class_index = ? GROUP BY s.seed ORDER BY s.seed`,
    );
    this.saveShardStatement = db.prepare(
      `INSERT INTO evaluation_shards (evaluation_id, scale, first_seed, seed_count, worker, result)
       VALUES (@evaluationId, @scale, @firstSeed, @seedCount, @worker, @result)
       ON CONFLICT (evaluation_id, scale, first_seed) DO NOTHING`,
    );
    this.shardsStatement = db.prepare<[number], StoredShard>(
      `SELECT scale, first_seed AS firstSeed, seed_count AS seedCount, worker, result
       FROM evaluation_shards WHERE evaluation_id = ? ORDER BY scale, first_seed`,
    );
    this.runningStatement = db.prepare<[], { id: number; owner_pid: number | null }>(
      `SELECT id, owner_pid FROM evaluations WHERE status = 'running'`,
    );
  }

  create(spec: EvaluationSpecInput): EvaluationRecord {
    const checked = EvaluationSpec.parse(spec);
    const { lastInsertRowid } = this.insertStatement.run(JSON.stringify(checked), checked.modelId, process.pid, Date.now());
    return this.require(Number(lastInsertRowid));
  }

  /** Records a new status; ending ones (everything but pending and running) also stamp the end time. */
  setStatus(evaluationId: number, status: EvaluationStatus, error: string | null = null): EvaluationRecord {
    const ended = status !== 'pending' && status !== 'running';
    this.statusStatement.run(status, error, ended ? Date.now() : null, status === 'running' ? process.pid : null, evaluationId);
    return this.require(evaluationId);
  }

  /** Stores (or replaces) the metrics of one guidance scale. */
  saveResult(evaluationId: number, result: EvaluationResultInput): EvaluationRecord {
    const checked = EvaluationResult.parse(result);
    this.saveResultStatement.run({
      evaluationId,
      ...checked,
      inceptionSplitSizes: checked.inceptionSplitSizes === null ? null : JSON.stringify(checked.inceptionSplitSizes),
      provenance: checked.provenance === null ? null : JSON.stringify(checked.provenance),
    });
    return this.require(evaluationId);
  }

  /** Keeps a collected shard; the first one kept for a scale and first seed stays. */
  saveShard(evaluationId: number, shard: StoredShard): void {
    this.saveShardStatement.run({ evaluationId, ...shard });
  }

  /** The shards the evaluation collected so far, by scale and first seed. */
  shards(evaluationId: number): StoredShard[] {
    return this.shardsStatement.all(evaluationId);
  }

  /** Seeds already sampled for this scale and class, so a resumed evaluation skips them. */
  finishedSeeds(evaluationId: number, scale: number, classIndex: number): number[] {
    return this.finishedSamples(evaluationId, scale, classIndex).map((row) => row.seed);
  }

  /** The evaluation's samples at this scale and class, one per seed (the first made), by seed. */
  finishedSamples(evaluationId: number, scale: number, classIndex: number): { seed: number; sampleId: number }[] {
    return this.seedsStatement.all(evaluationId, scale, classIndex);
  }

  get(evaluationId: number): EvaluationRecord | undefined {
    const row = this.getStatement.get(evaluationId);
    if (row === undefined) return undefined;
    return {
      id: row.id,
      spec: EvaluationSpec.parse(JSON.parse(row.spec)),
      status: row.status,
      error: row.error,
      createdAt: row.created_at,
      endedAt: row.ended_at,
      results: this.resultsStatement.all(row.id).map(resultOfRow),
    };
  }

  list(): EvaluationRecord[] {
    return this.listStatement.all().map((row) => this.require(row.id));
  }

  /** Evaluations whose process died while running become `interrupted` (and can be resumed). */
  markInterrupted(): number[] {
    const orphans = this.runningStatement.all().filter((row) => ownerIsGone(row.owner_pid));
    for (const row of orphans) this.setStatus(row.id, 'interrupted');
    return orphans.map((row) => row.id);
  }

  private require(evaluationId: number): EvaluationRecord {
    const evaluation = this.get(evaluationId);
    if (evaluation === undefined) throw new GalleryError(`Evaluation ${evaluationId} is not in the gallery.`);
    return evaluation;
  }
}
