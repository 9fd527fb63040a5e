/**
 * One evaluation drawn by workers across machines: its shards go through the queue at
 * `queueUrl` (Redis, BullMQ), the merged features are scored by this studio's engine against
 * its own copy of the model folder, and the figures land in the gallery as a single-machine
 * evaluation's do. Each shard is kept in the gallery as it comes in, so a resumed evaluation
 * (after a cancel, a crash or a restart of this studio) puts only the missing shards on the
 * queue. Progress reaches the studio as ordinary evaluation events; the shard and worker view
 * is kept for the page.
 */
import { randomBytes } from 'node:crypto';
import type { EvaluationSpec } from '../../common/contract/evaluation';
import { ShardResult } from '../distributed/shard-contract';
import { startShardedEvaluation, type CollectedShard, type ShardedEvaluation, type ShardedEvaluationProgress } from '../distributed/sharded-evaluation';
import type { Gallery } from '../gallery';
import type { Engine } from '../inference';
import type { EvaluationEvent } from './evaluation-events';
import { endEvaluation, stoppedOrFailed } from './evaluation-ending';
import type { JobOutcome } from './job-outcome';

export interface ShardedEvaluationJobContext {
  engine: Engine;
  gallery: Gallery;
  queueUrl: string;
  /** The verified folder of the model the evaluation names. */
  modelDir(modelId: string): Promise<string>;
  emit(event: EvaluationEvent): void;
  /** Every change of the shards and workers, for the page's shard table. */
  onShards(progress: ShardedEvaluationProgress): void;
  /** Samples per engine batch on the workers. */
  batchSize?: number;
  /** Seeds per shard. */
  shardSize?: number;
  pollIntervalMs?: number;
}

/**
 * The queue's name for one drawing of the evaluation: a resumed evaluation gets a new one, so
 * shards a failed drawing left behind on the queue are never taken for this one's.
 */
function drawingId(evaluationId: number): string {
  return `studio-${evaluationId}-${randomBytes(6).toString('hex')}`;
}

/** The shards kept in the gallery; one that no longer reads (another studio version) is drawn again. */
function storedShards(gallery: Gallery, evaluationId: number): CollectedShard[] {
  return gallery.evaluations.shards(evaluationId).flatMap((stored) => {
    const result = ShardResult.safeParse(JSON.parse(stored.result));
    return result.success ? [{ scale: stored.scale, result: result.data }] : [];
  });
}

/** The scale the shards are at: the first whose seeds are not all in. */
function currentScale(spec: EvaluationSpec, progress: ShardedEvaluationProgress): { scale: number; scaleIndex: number } {
  const scaleIndex = spec.scales.findIndex((scale) => progress.shards.some((shard) => shard.scale === scale && shard.status !== 'done'));
  const index = scaleIndex < 0 ? spec.scales.length - 1 : scaleIndex;
  return { scale: spec.scales[index]!, scaleIndex: index };
}

export async function executeShardedEvaluation(evaluationId: number, context: ShardedEvaluationJobContext, signal: AbortSignal): Promise<JobOutcome> {
  const { gallery } = context;
  const record = gallery.evaluations.get(evaluationId);
  if (!record) throw new Error(`Evaluation ${evaluationId} is not in the gallery.`);
  const { spec } = record;
  const total = spec.samplesPerScale * spec.scales.length;
  gallery.evaluations.setStatus(evaluationId, 'running');
  context.emit({ type: 'started', evaluationId, spec, totalSamples: total });
  let sharded: ShardedEvaluation | null = null;
  const cancel = () => void sharded?.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    sharded = await startShardedEvaluation(spec, {
      queueUrl: context.queueUrl,
      engine: context.engine,
      modelDir: await context.modelDir(spec.modelId),
      evaluationId: drawingId(evaluationId),
      ...(context.batchSize ? { batchSize: context.batchSize } : {}),
      ...(context.shardSize ? { shardSize: context.shardSize } : {}),
      ...(context.pollIntervalMs ? { pollIntervalMs: context.pollIntervalMs } : {}),
      collected: storedShards(gallery, evaluationId),
      // Kept as it comes in: a coordinator stopped mid-way has these shards back when resumed.
      onShardCollected: ({ scale, result }) =>
        gallery.evaluations.saveShard(evaluationId, { scale, firstSeed: result.seeds[0]!, seedCount: result.seeds.length, worker: result.worker, result: JSON.stringify(result) }),
    });
    if (signal.aborted) cancel();
    sharded.onProgress((progress) => {
      context.onShards(progress);
      if (progress.phase !== 'sampling' && progress.phase !== 'scoring') return;
      context.emit({ type: 'progress', evaluationId, phase: progress.phase, ...currentScale(spec, progress), doneSamples: progress.doneSamples, totalSamples: total });
    });
    const outcome = await sharded.done;
    for (const result of outcome.results) {
      gallery.evaluations.saveResult(evaluationId, result);
      context.emit({ type: 'result', evaluationId, result });
    }
    return endEvaluation(gallery, context, evaluationId, { status: 'completed', message: null });
  } catch (error) {
    return endEvaluation(gallery, context, evaluationId, stoppedOrFailed(signal.aborted, error));
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
