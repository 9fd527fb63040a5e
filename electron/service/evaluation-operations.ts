/**
 * Evaluations: start, resume, cancel, list and read them, and follow their events. Each
 * start or resumption is a queue entry; an entry stopped by a crash or a restart carries on
 * from the samples and scales the evaluation already has.
 */
import { z } from 'zod';
import { describeProblems } from '../../common/contract/bounds';
import type { EvaluationProgress, EvaluationView } from '../../common/contract/evaluation';
import { EvaluationSpec, type EvaluationRecord, type EvaluationSpecInput } from '../../common/contract/evaluation';
import type { QueueEntryKind } from '../../common/contract/queue';
import type { ProviderName } from '../../common/contract/run-request';
import { modelSha256 } from '../../common/models/model-identity';
import type { Gallery } from '../gallery';
import type { StoredQueueEntry } from '../gallery/queue-repository';
import type { ShardedEvaluationProgress } from '../distributed/sharded-evaluation';
import type { Engine } from '../inference';
import type { EvaluatorNetwork } from '../inference/evaluator-network';
import { DEFAULT_NEIGHBOURHOOD } from '../metrics/precision-recall';
import type { EvaluationEvent } from './evaluation-events';
import { executeEvaluation } from './evaluation-job';
import type { JobControl, JobKind, JobQueue } from './job-queue';
import type { JobOutcome } from './job-outcome';
import type { ModelCatalog } from './model-catalog';
import { checkEvaluationAgainstModel, checkQueueRoom, MAX_QUEUED_EVALUATIONS } from './request-checks';
import { UserFacingError } from './user-facing-error';

const EVALUATION_KINDS: readonly QueueEntryKind[] = ['evaluation'];

const EvaluationEntryPayload = z.object({ evaluationId: z.number().int().positive() });

export interface EvaluationSettings {
  /** Execution provider of the evaluations' sampling and evaluator (default "auto"). */
  provider?: ProviderName;
  /** Samples per engine batch. */
  batchSize?: number;
  /**
   * A Redis address (redis://, rediss://): evaluations are then cut into shards that workers on
   * other machines draw (`cli worker`), instead of being drawn by this studio's engine.
   */
  queueUrl?: string;
  /** Seeds per shard, when evaluations go through a queue. */
  shardSize?: number;
  /** How often the queue is read while shards are out. */
  shardPollIntervalMs?: number;
}

export interface EvaluationOperationsOptions extends EvaluationSettings {
  engine: Engine;
  gallery: Gallery;
  catalog: ModelCatalog;
  queue: JobQueue;
  appVersion: string;
}

export class EvaluationOperations implements JobKind {
  private readonly listeners = new Set<(event: EvaluationEvent) => void>();
  /** Latest progress of the running evaluation. */
  private progress: { evaluationId: number; progress: EvaluationProgress } | null = null;
  /** Shards and workers of the sharded evaluation running or last run here. */
  private shards: { evaluationId: number; progress: ShardedEvaluationProgress } | null = null;

  constructor(private readonly options: EvaluationOperationsOptions) {
    options.queue.register(EVALUATION_KINDS, this);
  }

  onEvaluationEvent(listener: (event: EvaluationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a new evaluation and queues it; the model must exist and have an evaluator. */
  async startEvaluation(input: EvaluationSpecInput): Promise<EvaluationRecord> {
    const parsed = EvaluationSpec.safeParse(input);
    if (!parsed.success) throw new UserFacingError(`The evaluation settings are not valid: ${describeProblems(parsed.error)}.`);
    if (parsed.data.samplesPerScale <= DEFAULT_NEIGHBOURHOOD) {
      throw new UserFacingError(`An evaluation needs at least ${DEFAULT_NEIGHBOURHOOD + 1} samples per scale: precision and recall use each sample's ${DEFAULT_NEIGHBOURHOOD}rd nearest neighbour.`);
    }
    this.checkRoom();
    const evaluator = await this.openEvaluator(parsed.data.modelId);
    await evaluator.release();
    checkEvaluationAgainstModel(evaluator.manifest, parsed.data);
    // Checked again after the awaits: other starts may have filled the queue meanwhile.
    this.checkRoom();
    this.options.gallery.models.register(evaluator.manifest, modelSha256(evaluator.manifest));
    const record = this.options.gallery.evaluations.create(parsed.data);
    this.enqueue(record);
    return record;
  }

  /** Queues an interrupted, cancelled or failed evaluation again; finished samples and scales are kept. */
  async resumeEvaluation(evaluationId: number): Promise<EvaluationRecord> {
    const record = this.getEvaluation(evaluationId);
    // A completed evaluation's queue entry may still be on its way out; completion decides.
    if (record.status === 'completed') throw new UserFacingError(`Evaluation ${evaluationId} is complete; there is nothing to resume.`);
    if (this.entryOf(evaluationId) !== undefined) throw new UserFacingError(`Evaluation ${evaluationId} is already running or queued.`);
    this.enqueue(record);
    return record;
  }

  cancelEvaluation(evaluationId: number): boolean {
    const entry = this.entryOf(evaluationId);
    return entry !== undefined && this.options.queue.cancel(entry.id);
  }

  listEvaluations(): EvaluationRecord[] {
    return this.options.gallery.evaluations.list();
  }

  /** The evaluation with where it is, if it is running here. */
  viewEvaluation(evaluationId: number): EvaluationView {
    const record = this.getEvaluation(evaluationId);
    const progress = this.progress?.evaluationId === evaluationId && record.status === 'running' ? this.progress.progress : null;
    return { record, progress };
  }

  getEvaluation(evaluationId: number): EvaluationRecord {
    const record = this.options.gallery.evaluations.get(evaluationId);
    if (!record) throw new UserFacingError(`Evaluation ${evaluationId} is not in the gallery; list the evaluations to see which exist.`);
    return record;
  }

  /** Resolves once no evaluation of this studio runs or waits (the queue's other entries included). */
  whenIdle(): Promise<void> {
    return this.options.queue.whenIdle();
  }

  /** Nothing to free here: the evaluator and the matrix sessions live in the engine's worker. */
  async close(): Promise<void> {}

  // ------------------------------------------------------------ the queue's side

  /** Where each shard of a sharded evaluation is, which worker has it, and each worker's throughput; null when none ran here. */
  viewShards(evaluationId: number): ShardedEvaluationProgress | null {
    return this.shards?.evaluationId === evaluationId ? this.shards.progress : null;
  }

  async execute(entry: StoredQueueEntry, control: JobControl): Promise<JobOutcome> {
    const { evaluationId } = EvaluationEntryPayload.parse(entry.payload);
    const { provider, batchSize, queueUrl } = this.options;
    const emit = (event: EvaluationEvent) => {
      if (event.type === 'progress' && event.phase === 'sampling') control.progress(event.doneSamples);
      this.emit(event);
    };
    if (queueUrl !== undefined) {
      // BullMQ and Redis load only when evaluations are shared out: a studio without a queue starts without them.
      const { executeShardedEvaluation } = await import('./evaluation-sharded-job');
      return executeShardedEvaluation(
        evaluationId,
        {
          engine: this.options.engine,
          gallery: this.options.gallery,
          queueUrl,
          modelDir: async (modelId) => (await this.options.catalog.find(modelId)).dir,
          emit,
          onShards: (progress) => {
            this.shards = { evaluationId, progress };
          },
          ...(batchSize ? { batchSize } : {}),
          ...(this.options.shardSize ? { shardSize: this.options.shardSize } : {}),
          ...(this.options.shardPollIntervalMs ? { pollIntervalMs: this.options.shardPollIntervalMs } : {}),
        },
        control.signal,
      );
    }
    return executeEvaluation(
      evaluationId,
      {
        engine: this.options.engine,
        gallery: this.options.gallery,
        appVersion: this.options.appVersion,
        openEvaluator: (modelId) => this.openEvaluator(modelId),
        prepareModel: (modelId, modelProvider) => this.options.catalog.prepare(modelId, modelProvider),
        emit,
        ...(provider ? { provider } : {}),
        ...(batchSize ? { batchSize } : {}),
      },
      control.signal,
    );
  }

  cancelledWhileWaiting(entry: StoredQueueEntry): void {
    const { evaluationId } = EvaluationEntryPayload.parse(entry.payload);
    this.options.gallery.evaluations.setStatus(evaluationId, 'cancelled');
    this.emit({ type: 'finished', evaluationId, status: 'cancelled', message: null });
  }

  private emit(event: EvaluationEvent): void {
    if (event.type === 'progress') {
      const { phase, scale, doneSamples, totalSamples } = event;
      this.progress = { evaluationId: event.evaluationId, progress: { phase, scale, doneSamples, totalSamples } };
    } else if (event.type === 'finished') {
      this.progress = null;
    }
    for (const listener of this.listeners) listener(event);
  }

  private async openEvaluator(modelId: string): Promise<EvaluatorNetwork> {
    const { dir } = await this.options.catalog.find(modelId);
    return this.options.engine.openEvaluator(dir, { provider: this.options.provider ?? 'auto' });
  }

  /** The queue entry running or waiting for this evaluation. */
  private entryOf(evaluationId: number): StoredQueueEntry | undefined {
    return this.options.queue.active().find((entry) => entry.evaluationId === evaluationId);
  }

  private checkRoom(): void {
    const waiting = this.options.queue.active().filter((entry) => entry.kind === 'evaluation' && entry.status !== 'running').length;
    checkQueueRoom(waiting, 1, MAX_QUEUED_EVALUATIONS, 'evaluations');
  }

  private enqueue(record: EvaluationRecord): void {
    const { spec } = record;
    const total = spec.samplesPerScale * spec.scales.length;
    this.options.queue.add(
      [
        {
          kind: 'evaluation',
          payload: { evaluationId: record.id },
          label: `Evaluation ${record.id} · ${spec.modelId} · scales ${spec.scales.join(', ')} · ${spec.samplesPerScale} per scale`,
          sweepId: null,
          evaluationId: record.id,
          totalSamples: total,
        },
      ],
      { kinds: EVALUATION_KINDS, limit: MAX_QUEUED_EVALUATIONS, what: 'evaluations' },
    );
  }
}
