/**
 * How an evaluation job ends, whether it ran here or over worker processes: the gallery keeps
 * the status (and the failure's sentence), the page hears one `finished` event, and the queue
 * gets the same outcome back.
 */
import type { Gallery } from '../gallery';
import type { EvaluationEvent } from './evaluation-events';
import type { JobOutcome } from './job-outcome';

export function endEvaluation(gallery: Gallery, listener: { emit(event: EvaluationEvent): void }, evaluationId: number, outcome: JobOutcome): JobOutcome {
  gallery.evaluations.setStatus(evaluationId, outcome.status, outcome.message);
  listener.emit({ type: 'finished', evaluationId, status: outcome.status, message: outcome.message });
  return outcome;
}

/** A stopped evaluation carries no message; a failed one carries the error's sentence. */
export function stoppedOrFailed(cancelled: boolean, error: unknown): JobOutcome {
  if (cancelled) return { status: 'cancelled', message: null };
  return { status: 'failed', message: error instanceof Error ? error.message : String(error) };
}
