/**
 * The evaluation part of StudioApi: start, resume, cancel and read evaluations. The page
 * follows a running evaluation by reading it again (its progress comes with it).
 */
import { z } from 'zod';
import { EvaluationRecord } from './gallery';

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
