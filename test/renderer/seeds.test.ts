import { describe, expect, it } from 'vitest';
import { maxSeed, planSeeds } from '../../renderer/src/lib/seeds';

describe('seed plans', () => {
  it('fixed: the same consecutive seeds every run', () => {
    expect(planSeeds('fixed', 1000, 4)).toEqual({ seeds: [1000, 1001, 1002, 1003], nextBase: 1000 });
    expect(planSeeds('fixed', 1000, 4)).toEqual(planSeeds('fixed', 1000, 4));
  });

  it('increment: the next run continues after the last seed used', () => {
    const first = planSeeds('increment', 10, 3);
    const second = planSeeds('increment', first.nextBase, 3);
    expect(first.seeds).toEqual([10, 11, 12]);
    expect(second.seeds).toEqual([13, 14, 15]);
  });

  it('random: a fresh base each run, shown as the base afterwards', () => {
    const plan = planSeeds('random', 0, 2, () => 77);
    expect(plan).toEqual({ seeds: [77, 78], nextBase: 77 });
  });

  it('wraps around at the largest 32-bit seed instead of leaving the valid range', () => {
    expect(planSeeds('fixed', maxSeed, 2).seeds).toEqual([maxSeed, 0]);
  });
});
