/** How the seeds of the next run are chosen. */
export type SeedMode = 'random' | 'fixed' | 'increment';

export const maxSeed = 2 ** 32 - 1;

export interface SeedPlan {
  seeds: number[];
  /** The base seed to show after this run (it moves on in `increment` mode). */
  nextBase: number;
}

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * One seed per sample: `fixed` repeats base, base+1, … every run; `increment` continues where the
 * previous run stopped; `random` draws a fresh base each run.
 */
export function planSeeds(mode: SeedMode, base: number, count: number, draw: () => number = randomSeed): SeedPlan {
  const start = mode === 'random' ? draw() : base;
  const seeds = Array.from({ length: count }, (_, i) => (start + i) % (maxSeed + 1));
  const nextBase = mode === 'increment' ? (start + count) % (maxSeed + 1) : start;
  return { seeds, nextBase };
}
