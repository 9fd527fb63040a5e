/** How much the resident set grew while `action` ran: a reader that trusts declared sizes shows it here. */
export function rssGrowthDuring(action: () => void): number {
  const before = process.memoryUsage().rss;
  action();
  return process.memoryUsage().rss - before;
}

export const MIB = 1024 * 1024;

/** Runs `action`, which must throw, and returns the error it threw together with the memory it took. */
export function failureOf(action: () => unknown): { error: Error; rssGrowth: number } {
  let thrown: unknown;
  const rssGrowth = rssGrowthDuring(() => {
    try {
      action();
    } catch (error) {
      thrown = error;
    }
  });
  if (!(thrown instanceof Error)) throw new Error('Expected the action to throw an Error, but it returned.');
  return { error: thrown, rssGrowth };
}
