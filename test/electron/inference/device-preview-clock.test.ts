import { describe, expect, it } from 'vitest';
import { previewClock } from '../../../electron/inference/preview-clock';

/** A clock the test moves by hand, so no real time is measured. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let at = 0;
  return { now: () => at, advance: (ms) => (at += ms) };
}

describe('the preview clock', () => {
  it('answers the same for one step however often it is asked, so the device path and the job agree', () => {
    const clock = manualClock();
    const previews = previewClock(1, 100, 10, clock.now);
    expect(previews.due(0)).toBe(true);
    clock.advance(50);
    expect(previews.due(1)).toBe(false);
    clock.advance(500);
    expect(previews.due(1)).toBe(false);
    expect(previews.due(2)).toBe(true);
    expect(previews.due(2)).toBe(true);
  });

  it('always has the first and last step, keeps to the previewEvery schedule, and has only the last with previews off', () => {
    const clock = manualClock();
    const everyThird = previewClock(3, 0, 8, clock.now);
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((step) => everyThird.due(step))).toEqual([0, 3, 6, 7]);
    const off = previewClock(0, 0, 8, clock.now);
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((step) => off.due(step))).toEqual([7]);
  });
});
