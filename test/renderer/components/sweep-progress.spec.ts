/** A sweep's progress counts the running cell's steps, not only its finished images. */
import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import type { StudioApi } from '../../../common/contract/studio-api';
import { SweepState, type SweepCell } from '../../../renderer/src/state/sweep.svelte';

const sample = { id: 1 } as SampleRecord;

function cell(jobId: number, status: SweepCell['status'], finished: number, step: number): SweepCell {
  const seeds = [1, 2, 3, 4];
  return { jobId, row: jobId, column: 0, seeds, samples: seeds.map((_, i) => (i < finished ? sample : null)), status, step, totalSteps: 10 };
}

describe('SweepState progress', () => {
  it('is the finished images plus the running cell\'s share of its steps', () => {
    const sweep = new SweepState({} as StudioApi);
    sweep.cells = [cell(1, 'completed', 4, 10), cell(2, 'running', 0, 5), cell(3, 'queued', 0, 0)];
    expect(sweep.done).toBe(4);
    expect(sweep.total).toBe(12);
    // 4 finished + 4 images half-way through their steps = 6 of 12.
    expect(sweep.fraction).toBeCloseTo(0.5, 12);
  });

  it('is 0 with no cells and 1 when every image is in', () => {
    const sweep = new SweepState({} as StudioApi);
    expect(sweep.fraction).toBe(0);
    sweep.cells = [cell(1, 'completed', 4, 10)];
    expect(sweep.fraction).toBe(1);
  });
});
