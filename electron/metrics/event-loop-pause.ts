/**
 * Lets long numeric loops give their thread's event loop a turn: `maybePause()` resolves at
 * once until `budgetMs` of work has passed since the last pause, then waits for one macrotask.
 * The metrics run in the inference worker, whose messages (a cancel, the next request queued)
 * stay live while a 2048×2048 matrix is being factored, and an aborted `signal` (a cancel that
 * arrived during a pause) stops the loop at its next call.
 */
export class EventLoopPause {
  private last = performance.now();

  constructor(
    private readonly budgetMs = 25,
    private readonly signal?: AbortSignal,
  ) {}

  async maybePause(): Promise<void> {
    this.signal?.throwIfAborted();
    const now = performance.now();
    if (now - this.last < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
