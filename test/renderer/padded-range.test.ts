import { describe, expect, it } from 'vitest';
import { paddedRange } from '../../renderer/src/lib/plots/padded-range';

describe('paddedRange', () => {
  it('gives a single value a readable range around it instead of ±0.01', () => {
    expect(paddedRange(4, 4)).toEqual([3, 5]);
    expect(paddedRange(0, 0)).toEqual([-1, 1]);
    expect(paddedRange(250, 250)).toEqual([225, 275]);
  });

  it('adds 5% either side of a spread of values', () => {
    expect(paddedRange(0, 10)).toEqual([-0.5, 10.5]);
  });

  it('falls back to 0…1 when there is nothing to show', () => {
    expect(paddedRange(null, null)).toEqual([0, 1]);
    expect(paddedRange(Number.NaN, 3)).toEqual([0, 1]);
  });
});
