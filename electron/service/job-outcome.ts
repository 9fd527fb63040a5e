/** How a queued job ended, and the one rule that tells a cancelled job from a failed one. */
export interface JobOutcome {
  status: 'completed' | 'cancelled' | 'failed';
  /** A sentence for the user when the job failed. */
  message: string | null;
}

/** A job stopped because it was asked to (its signal fired, or the engine says it was aborted), not because it failed. */
export function stoppedOnRequest(signal: AbortSignal, error: unknown): boolean {
  return signal.aborted || (error instanceof Error && error.name === 'AbortError');
}
