/**
 * Evaluations: what one scores (the spec), the figures it stores per guidance scale with what
 * they were measured on, and the part of StudioApi that starts, resumes, cancels and reads them.
 * The page follows a running evaluation by reading it again (its progress comes with it).
 */
import { z } from 'zod';
import { allDistinct, boundedList, boundedWholeNumber, MAX_EVALUATION_CLASSES, MAX_EVALUATION_SAMPLES_PER_SCALE, MAX_EVALUATION_SCALES } from './bounds';
import { ClassIndex, DEFAULT_CFG_SCALE, GuidanceMode, GuidanceScheduleSetting, ModelId, RunRequest, SamplerName, StepsText, usesClassifierFree } from './run-request';

/** Milliseconds since the Unix epoch. */
const Timestamp = z.number().int().nonnegative();
const Id = z.number().int().positive();
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Samples per Inception Score split, in drawing order, as guided-diffusion's evaluator cuts them. */
export const INCEPTION_SPLIT_SIZE = 5000;

/** Seeds stop at 2³² − 1; an evaluation's last seed is its offset plus its samples per scale, minus one. */
const LAST_SEED = 2 ** 32 - 1;

export const EvaluationStatus = z.enum(['pending', 'running', 'completed', 'cancelled', 'failed', 'interrupted']);
export type EvaluationStatus = z.infer<typeof EvaluationStatus>;

export const EvaluationSpec = z
  .object({
    modelId: ModelId,
    classes: boundedList(ClassIndex, MAX_EVALUATION_CLASSES, (max, got) => `an evaluation cycles through at most ${max} classes (got ${got}); evaluate fewer classes at a time`)
      .min(1, { error: 'an evaluation needs at least one class' })
      .refine(allDistinct, { error: 'each class may appear only once in an evaluation; remove the repeated ones' }),
    scales: boundedList(z.number().finite().nonnegative(), MAX_EVALUATION_SCALES, (max, got) => `an evaluation scores at most ${max} guidance scales (got ${got}); split it into several evaluations`)
      .min(1, { error: 'an evaluation needs at least one guidance scale' })
      .refine(allDistinct, { error: 'each guidance scale may appear only once in an evaluation; remove the repeated ones' }),
    mode: GuidanceMode,
    /** w of classifier-free guidance in the classifier-free modes, as on a run request. */
    cfgScale: RunRequest.shape.cfgScale,
    /** How each scale changes over the steps, as on a run request; absent: constant. */
    guidanceSchedule: RunRequest.shape.guidanceSchedule,
    sampler: SamplerName,
    steps: StepsText,
    eta: z.number().finite().min(0).max(1).default(0),
    samplesPerScale: boundedWholeNumber('the samples per scale', 1, MAX_EVALUATION_SAMPLES_PER_SCALE, '; FID is usually quoted at 50,000'),
    /**
     * Sample i has seed seedOffset + i. Evaluations equal but for their offsets are repeats of
     * one another, and the page shows their figures as mean ± standard deviation.
     */
    seedOffset: boundedWholeNumber('the seed offset', 0, LAST_SEED).default(0),
  })
  .refine((spec) => spec.seedOffset + spec.samplesPerScale - 1 <= LAST_SEED, {
    error: `the seed offset plus the samples per scale passes the last seed (${LAST_SEED}); lower the offset`,
    path: ['seedOffset'],
    // Only once each field is valid on its own, so a bad sample count gets one sentence, not two.
    when: (payload) => payload.issues.length === 0,
  });
export type EvaluationSpec = z.infer<typeof EvaluationSpec>;
export type EvaluationSpecInput = z.input<typeof EvaluationSpec>;

/**
 * The classifier-free weight and the schedule an evaluation's samples are drawn with: w as the
 * sampler reads it (the default when the spec leaves it out, null outside the classifier-free
 * modes) and the schedule (constant when the spec names none).
 */
export function drawnGuidance(spec: Pick<EvaluationSpec, 'mode' | 'cfgScale' | 'guidanceSchedule'>): { cfgScale: number | null; guidanceSchedule: GuidanceScheduleSetting } {
  return {
    cfgScale: usesClassifierFree(spec.mode) ? (spec.cfgScale ?? DEFAULT_CFG_SCALE) : null,
    guidanceSchedule: spec.guidanceSchedule ?? { kind: 'constant' },
  };
}

/** What a stored figure was measured on, so two figures can be told comparable or not. */
export const EvaluationProvenance = z.object({
  sampleCount: z.number().int().nonnegative(),
  /** The seeds scored, firstSeed to lastSeed inclusive; sample i has class classes[i mod #classes]. */
  firstSeed: z.number().int().nonnegative(),
  lastSeed: z.number().int().nonnegative(),
  sampler: SamplerName,
  steps: StepsText,
  eta: z.number(),
  mode: GuidanceMode,
  /** w the classifier-free modes drew with (the default when the spec left it out); null in the other modes; absent in figures stored before it was recorded. */
  cfgScale: z.number().nullable().optional(),
  /** How the scale changed over t (constant when the spec named none); absent in figures stored before it was recorded. */
  guidanceSchedule: GuidanceScheduleSetting.optional(),
  evaluatorSha256: Sha256,
  /** sha256 of the reference batch's files: its features (the k-NN balls), mean and covariance. */
  referenceFeaturesSha256: Sha256,
  referenceMuSha256: Sha256,
  referenceSigmaSha256: Sha256,
  /** Images in the reference batch; FID is biased upward when the generated set is smaller. */
  referenceCount: z.number().int().positive(),
});
export type EvaluationProvenance = z.infer<typeof EvaluationProvenance>;

export const EvaluationResult = z.object({
  scale: z.number(),
  sampleCount: z.number().int().nonnegative(),
  fid: z.number().nullable(),
  /** FID on the evaluator's spatial features; null when the evaluator has none. */
  sfid: z.number().nullable().default(null),
  inceptionScore: z.number().nullable(),
  /**
   * Samples in each Inception Score split, in drawing order ([1000] for 1,000 samples, [5000,
   * 5000, 2000] for 12,000); null for figures stored before splits followed the reference.
   */
  inceptionSplitSizes: z.array(z.number().int().positive()).nullable().default(null),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  /** Naeem et al. 2020, with the radii of the reference's k = 5 nearest neighbours. */
  density: z.number().nullable().default(null),
  coverage: z.number().nullable().default(null),
  classAccuracy: z.number().nullable(),
  provenance: EvaluationProvenance.nullable().default(null),
});
export type EvaluationResult = z.infer<typeof EvaluationResult>;
export type EvaluationResultInput = z.input<typeof EvaluationResult>;

export const EvaluationRecord = z.object({
  id: Id,
  spec: EvaluationSpec,
  status: EvaluationStatus,
  error: z.string().nullable(),
  createdAt: Timestamp,
  endedAt: Timestamp.nullable(),
  results: z.array(EvaluationResult),
});
export type EvaluationRecord = z.infer<typeof EvaluationRecord>;

export const EvaluationRef = z.object({ evaluationId: z.number().int().positive() });
export type EvaluationRef = z.infer<typeof EvaluationRef>;

export const EvaluationProgress = z.object({
  /** `sampling`: generating the scale's images; `scoring`: computing its metrics. */
  phase: z.enum(['sampling', 'scoring']),
  scale: z.number(),
  doneSamples: z.number().int().nonnegative(),
  totalSamples: z.number().int().nonnegative(),
});
export type EvaluationProgress = z.infer<typeof EvaluationProgress>;

export const EvaluationView = z.object({
  record: EvaluationRecord,
  /** Where a running evaluation is; null when it is not running in this process. */
  progress: EvaluationProgress.nullable(),
});
export type EvaluationView = z.infer<typeof EvaluationView>;

export const ShardStatus = z.enum(['waiting', 'active', 'retrying', 'done', 'failed']);
export type ShardStatus = z.infer<typeof ShardStatus>;

/** One shard of a sharded evaluation: a scale and a range of seeds, and where it is. */
export const ShardView = z.object({
  shardId: z.string(),
  scale: z.number(),
  firstSeed: z.number().int().nonnegative(),
  seedCount: z.number().int().positive(),
  status: ShardStatus,
  /** The worker drawing it now, or the one that finished it. */
  worker: z.string().nullable(),
  /** Every worker seen with it, first to last: more than one when a shard was redone. */
  workers: z.array(z.string()),
  doneSamples: z.number().int().nonnegative(),
  attemptsMade: z.number().int().nonnegative(),
  samplesPerSecond: z.number().nullable(),
  /** Why its last try failed (a refusal, a crash), or null. */
  error: z.string().nullable(),
});
export type ShardView = z.infer<typeof ShardView>;

export const WorkerView = z.object({
  worker: z.string(),
  shards: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  /** Samples per second over the shards it finished, on its own clock. */
  samplesPerSecond: z.number().nonnegative(),
});
export type WorkerView = z.infer<typeof WorkerView>;

export const ShardedPhase = z.enum(['sampling', 'scoring', 'completed', 'failed', 'cancelled']);
export type ShardedPhase = z.infer<typeof ShardedPhase>;

/** Where a sharded evaluation's shards are and how fast each worker draws. */
export const EvaluationShards = z.object({
  evaluationId: z.string(),
  phase: ShardedPhase,
  doneSamples: z.number().int().nonnegative(),
  totalSamples: z.number().int().nonnegative(),
  shards: z.array(ShardView),
  workers: z.array(WorkerView),
  /** A sentence while the queue cannot be reached (the coordinator keeps trying), else null. */
  queueProblem: z.string().nullable(),
});
export type EvaluationShards = z.infer<typeof EvaluationShards>;
