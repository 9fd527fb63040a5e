/** The compare view's |A − B| image and its step alignment, on images small enough to work out by hand. */
import { describe, expect, it } from 'vitest';
import { alignByTimestep, differenceImage, MAX_GAIN, type RgbaImage } from '../../renderer/src/features/compare/difference-image';

/** A width×1 image whose pixels have the given grey levels. */
function grey(levels: number[]): RgbaImage {
  return { width: levels.length, height: 1, data: new Uint8ClampedArray(levels.flatMap((level) => [level, level, level, 255])) };
}

describe('the difference image', () => {
  it('amplifies |A − B| so the largest difference is white, and says by how much', () => {
    // Differences 0, 10, 50: gain ⌊255 / 50⌋ = 5, so 0, 50, 250.
    const difference = differenceImage(grey([100, 100, 200]), grey([100, 110, 150]));
    expect(difference.largest).toBe(50);
    expect(difference.gain).toBe(5);
    expect([...difference.data]).toEqual([0, 0, 0, 255, 50, 50, 50, 255, 250, 250, 250, 255]);
    expect(difference.changedFraction).toBeCloseTo(2 / 3, 12);
  });

  it('caps the gain, so one level of rounding is not drawn as a bright structure', () => {
    const difference = differenceImage(grey([10, 10]), grey([10, 11]));
    expect(difference.gain).toBe(MAX_GAIN);
    expect([...difference.data.slice(4, 7)]).toEqual([MAX_GAIN, MAX_GAIN, MAX_GAIN]);
  });

  it('shows identical images as black with gain 1', () => {
    const difference = differenceImage(grey([7, 8]), grey([7, 8]));
    expect([difference.largest, difference.gain, difference.changedFraction]).toEqual([0, 1, 0]);
  });

  it('refuses images of different sizes with a sentence', () => {
    expect(() => differenceImage(grey([1, 2]), grey([1, 2, 3]))).toThrow('The two samples have different sizes (2×1 and 3×1), so there is no pixel-wise difference to show.');
  });
});

describe('steps aligned by t', () => {
  it('pairs the same timesteps, and the nearest where the spacings differ', () => {
    expect(alignByTimestep([90, 60, 30, 0], [90, 60, 30, 0])).toEqual([0, 1, 2, 3]);
    expect(alignByTimestep([99, 66, 33, 0], [99, 49, 0])).toEqual([0, 1, 1, 2]);
    expect(alignByTimestep([10, 0], [])).toEqual([null, null]);
  });
});
