/**
 * Lets long numeric loops on the main process give the event loop a turn: `maybePause()`
 * resolves at once until `budgetMs` of work has passed since the last pause, then waits for
 * one macrotask. IPC, progress events and cancellation stay live while a 2048×2048 matrix
 * is being factored.
 */
export class EventLoopPause {
  private last = performance.now();

  constructor(private readonly budgetMs = 25) {}

  async maybePause(): Promise<void> {
    const now = performance.now();
    if (now - this.last < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
