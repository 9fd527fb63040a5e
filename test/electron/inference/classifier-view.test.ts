/** The per-pixel gradient heatmap and the top classes, on numbers small enough to work out by hand. */
import { describe, expect, it } from 'vitest';
import { gradientHeat, topClasses } from '../../../electron/inference/classifier-view';

describe('gradientHeat', () => {
  it('takes the L2 norm over channels per pixel and scales the largest to 255', () => {
    // Two samples of 3 channels × 2 pixels; sample 1 is read. Pixel 0: (3, 4, 0) → 5; pixel 1: (0, 0, -10) → 10.
    const grad = Float32Array.from([9, 9, 9, 9, 9, 9, /* sample 1 */ 3, 0, 4, 0, 0, -10]);
    const { heat, max } = gradientHeat(grad, 1, 3, 2);
    expect(max).toBe(10);
    expect([...heat]).toEqual([128, 255]);
  });

  it('gives an all-zero map with max 0 when the gradient vanishes', () => {
    const { heat, max } = gradientHeat(new Float32Array(4), 0, 1, 4);
    expect(max).toBe(0);
    expect([...heat]).toEqual([0, 0, 0, 0]);
  });
});

describe('topClasses', () => {
  it('ranks softmax(logits) of one row, most probable first', () => {
    // Row 1: logits (0, ln 3, ln 2, ln 4) → weights 1, 3, 2, 4 of 10.
    const logits = Float32Array.from([5, 5, 5, 5, 0, Math.log(3), Math.log(2), Math.log(4)]);
    const top = topClasses(logits, 1, 4);
    expect(top.map((entry) => entry.classIndex)).toEqual([3, 1, 2]);
    [0.4, 0.3, 0.2].forEach((probability, rank) => expect(top[rank]!.probability).toBeCloseTo(probability, 6));
  });

  it('lists every class of a model with fewer than three, and stays finite for large logits', () => {
    const top = topClasses(Float32Array.from([1000, 999]), 0, 2);
    expect(top.map((entry) => entry.classIndex)).toEqual([0, 1]);
    expect(top[0]!.probability).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
});
