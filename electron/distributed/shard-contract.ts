/**
 * What crosses Redis between the coordinator and the workers: a shard job (every run setting
 * the evaluation gives, classifier-free weight and guidance schedule included,
 * the model's fingerprint, the seeds and their classes) and its result (the evaluator's
 * features and logits, row i for seeds[i]). Both are checked on arrival, since any process
 * that can reach the queue can write them.
 */
import { z } from 'zod';
import { EvaluationSpec } from '../../common/contract/evaluation';
import { MAX_BATCH_SIZE, MAX_SEEDS_PER_RUN } from '../../common/contract/bounds';
import { ClassIndex, Seed } from '../../common/contract/run-request';

/**
 * The BullMQ queue of one model's shards. Workers listen only to the queues of the models they
 * hold, so a machine without a model never takes its shards; one holding other weights under
 * the same id takes them and refuses them.
 */
export function shardQueueName(modelId: string): string {
  return `gds-shards-${encodeURIComponent(modelId)}`;
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'a sha256 is 64 lowercase hexadecimal digits' });
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'expected base64 text' });

export const ShardJob = z
  .object({
    evaluationId: z.string().min(1).max(100),
    shardId: z.string().min(1).max(200),
    modelId: EvaluationSpec.shape.modelId,
    modelSha256: Sha256,
    mode: EvaluationSpec.shape.mode,
    /** w of classifier-free guidance, as the evaluation gives it; absent: the contract's default. */
    cfgScale: EvaluationSpec.shape.cfgScale,
    /** How the scale changes over t, as the evaluation gives it; absent: constant. */
    guidanceSchedule: EvaluationSpec.shape.guidanceSchedule,
    sampler: EvaluationSpec.shape.sampler,
    steps: EvaluationSpec.shape.steps,
    eta: z.number().finite().min(0).max(1),
    scale: z.number().finite().nonnegative(),
    seeds: z.array(Seed).min(1).max(MAX_SEEDS_PER_RUN),
    classes: z.array(ClassIndex).min(1).max(MAX_SEEDS_PER_RUN),
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE),
    /** Also send the 8-bit pixels back, not only the evaluator's outputs. */
    returnImages: z.boolean(),
  })
  .refine((job) => job.seeds.length === job.classes.length, { error: 'a shard gives one class per seed' });
export type ShardJob = z.infer<typeof ShardJob>;

export const ShardResult = z.object({
  shardId: z.string(),
  worker: z.string(),
  seeds: z.array(Seed),
  /**
   * The classifier-free weight and schedule the worker drew with, as its job named them. A
   * worker of an older studio drops settings it does not know and would draw other images;
   * without this echo its result could not be told from a right one.
   */
  cfgScale: ShardJob.shape.cfgScale,
  guidanceSchedule: ShardJob.shape.guidanceSchedule,
  /** Float32 bytes, little-endian, base64: [seeds.length, featureDimension]. */
  features: Base64,
  featureDimension: z.number().int().positive(),
  logits: Base64,
  logitDimension: z.number().int().positive(),
  /** 8-bit pixels, [seeds.length, height, width, channels], base64; null unless asked for. */
  pixels: Base64.nullable(),
  /** Seconds the worker spent drawing and evaluating the shard. */
  seconds: z.number().nonnegative(),
});
export type ShardResult = z.infer<typeof ShardResult>;

/** What a worker reports while it draws a shard. */
export const ShardProgress = z.object({
  worker: z.string(),
  doneSamples: z.number().int().nonnegative(),
  totalSamples: z.number().int().positive(),
});
export type ShardProgress = z.infer<typeof ShardProgress>;
