/**
 * An evaluation cut into shards: each guidance scale's seeds in consecutive ranges. Seeds and
 * classes are fixed by position as in the single-machine evaluation (sample i has seed i and
 * class classes[i mod #classes], seeds shifted by the spec's seed offset), and each seed's noise is its own, so a shard draws the same
 * images on whichever machine takes it.
 */
import { MAX_BATCH_SIZE, MAX_SEEDS_PER_RUN } from '../../common/contract/bounds';
import type { EvaluationSpec } from '../../common/contract/evaluation';
import type { ShardJob } from './shard-contract';

export const DEFAULT_SHARD_SIZE = 128;

export interface ShardPlanOptions {
  evaluationId: string;
  modelSha256: string;
  /** Seeds per shard (the last shard of a scale may have fewer). */
  shardSize?: number;
  /** Samples per engine batch on the worker. */
  batchSize?: number;
  returnImages?: boolean;
}

export interface PlannedShard {
  job: ShardJob;
  scaleIndex: number;
  /** BullMQ job id: one per shard, so a shard added twice is one job. */
  jobId: string;
}

export function planShards(spec: EvaluationSpec, options: ShardPlanOptions): PlannedShard[] {
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!Number.isInteger(shardSize) || shardSize < 1 || shardSize > MAX_SEEDS_PER_RUN) {
    throw new Error(`A shard holds from 1 to ${MAX_SEEDS_PER_RUN} seeds; got a shard size of ${shardSize}.`);
  }
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new Error(`The batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}; got ${batchSize}.`);
  }
  // BullMQ job ids may not hold ':' and the id names every shard; keep it to plain characters.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(options.evaluationId)) {
    throw new Error(`An evaluation id is 1 to 100 letters, digits, '-' or '_'; got "${options.evaluationId.slice(0, 120)}".`);
  }
  const shards: PlannedShard[] = [];
  for (const [scaleIndex, scale] of spec.scales.entries()) {
    for (let first = 0; first < spec.samplesPerScale; first += shardSize) {
      const positions = Array.from({ length: Math.min(shardSize, spec.samplesPerScale - first) }, (_, offset) => first + offset);
      const seeds = positions.map((position) => spec.seedOffset + position);
      const shardId = `${options.evaluationId}-scale${scaleIndex}-seeds${spec.seedOffset + first}`;
      shards.push({
        scaleIndex,
        jobId: shardId,
        job: {
          evaluationId: options.evaluationId,
          shardId,
          modelId: spec.modelId,
          modelSha256: options.modelSha256,
          mode: spec.mode,
          ...(spec.cfgScale === undefined ? {} : { cfgScale: spec.cfgScale }),
          ...(spec.guidanceSchedule === undefined ? {} : { guidanceSchedule: spec.guidanceSchedule }),
          sampler: spec.sampler,
          steps: spec.steps,
          eta: spec.eta,
          scale,
          seeds,
          classes: positions.map((position) => spec.classes[position % spec.classes.length]!),
          batchSize,
          returnImages: options.returnImages ?? false,
        },
      });
    }
  }
  return shards;
}
