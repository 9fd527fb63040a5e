/** Which steps a trajectory keeps under a memory budget, and the sentence that says so. */
import { describe, expect, it } from 'vitest';
import { recordedSteps, TRAJECTORY_BUDGET_BYTES, trajectoryNote, trajectoryStepBytes } from '../../common/models/run-plan';

const MIB = 1024 * 1024;

describe('recordedSteps', () => {
  it('keeps every step when the whole recording fits', () => {
    expect(recordedSteps(10, 4, 64, 10 * trajectoryStepBytes(4, 64))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps an evenly spaced subset with the first and last step when it does not', () => {
    // 5 steps fit: 0, 24.75, 49.5, 74.25, 99 rounded.
    expect(recordedSteps(100, 4, 64, 5 * trajectoryStepBytes(4, 64) + 1)).toEqual([0, 25, 50, 74, 99]);
  });

  it('keeps 256 MiB for batch 32 of 1000 steps at 64×64 RGB, 2.9 GiB when whole', () => {
    const perSample = 3 * 64 * 64;
    expect(1000 * trajectoryStepBytes(32, perSample)).toBe(3_145_728_000);
    const kept = recordedSteps(1000, 32, perSample);
    // One step of the batch takes 2 × 32 × 12,288 × 4 bytes = 3 MiB, so 256 MiB hold 85 of them.
    expect(kept).toHaveLength(85);
    expect(kept.length * trajectoryStepBytes(32, perSample)).toBeLessThanOrEqual(TRAJECTORY_BUDGET_BYTES);
    expect([kept[0], kept.at(-1)]).toEqual([0, 999]);
    expect(new Set(kept).size).toBe(kept.length);
  });

  it('keeps both ends even when a single step is over the budget', () => {
    expect(recordedSteps(50, 256, 3 * 512 * 512, MIB)).toEqual([0, 49]);
    expect(recordedSteps(1, 256, 3 * 512 * 512, MIB)).toEqual([0]);
  });
});

describe('trajectoryNote', () => {
  it('says how many steps were kept and why, and nothing when all were', () => {
    expect(trajectoryNote(120, 1000)).toBe('Recorded 120 of 1000 steps to stay within the 256 MiB trajectory memory budget.');
    expect(trajectoryNote(5, 100, 20 * 1024)).toBe('Recorded 5 of 100 steps to stay within the 20 KiB trajectory memory budget.');
    expect(trajectoryNote(100, 100)).toBeNull();
  });
});
