/** What an evaluation job reports while it runs. */
import type { EvaluationResult, EvaluationSpec } from '../../common/contract/evaluation';

export type EvaluationEvent =
  | { type: 'started'; evaluationId: number; spec: EvaluationSpec; totalSamples: number }
  | {
      type: 'progress';
      evaluationId: number;
      /** `sampling`: generating the scale's images; `scoring`: computing its metrics. */
      phase: 'sampling' | 'scoring';
      scale: number;
      scaleIndex: number;
      doneSamples: number;
      totalSamples: number;
    }
  | { type: 'result'; evaluationId: number; result: EvaluationResult }
  | { type: 'finished'; evaluationId: number; status: 'completed' | 'cancelled' | 'failed'; message: string | null };
