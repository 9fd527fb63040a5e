import { describe, expect, it } from 'vitest';
import { fillGaussian, philox4x32, replayedNoise, seededNoise } from '../../common/diffusion/rng';

const hex = (words: Uint32Array): string[] => [...words].map((word) => word.toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  // Known-answer vectors published with Random123 (kat_vectors, philox4x32 10 rounds).
  const vectors = [
    { counter: [0, 0, 0, 0], key: [0, 0], expected: ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'] },
    { counter: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], key: [0xffffffff, 0xffffffff], expected: ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'] },
    { counter: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], key: [0xa4093822, 0x299f31d0], expected: ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'] },
  ];
  for (const vector of vectors) {
    it(`matches Random123 for counter ${vector.counter.map((word) => word.toString(16)).join(',')}`, () => {
      const out = new Uint32Array(4);
      philox4x32(vector.counter, vector.key, out);
      expect(hex(out)).toEqual(vector.expected);
    });
  }
});

describe('seeded Gaussian noise', () => {
  it('is standard normal', () => {
    const values = new Float32Array(200_000);
    fillGaussian(values, 1234, 0);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
    const fourth = values.reduce((sum, value) => sum + (value - mean) ** 4, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    expect(Math.abs(fourth / variance ** 2 - 3)).toBeLessThan(0.05);
  });

  it('gives the same values for the same seed and stream, different ones otherwise', () => {
    const a = new Float32Array(1000);
    const b = new Float32Array(1000);
    const c = new Float32Array(1000);
    const d = new Float32Array(1000);
    fillGaussian(a, 42, 3);
    fillGaussian(b, 42, 3);
    fillGaussian(c, 43, 3);
    fillGaussian(d, 42, 4);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(d).not.toEqual(a);
  });

  it('gives a sample the same noise whatever batch it runs in', () => {
    const perSample = 37; // not a multiple of 4, so blocks straddle nothing shared
    const batch = new Float32Array(3 * perSample);
    seededNoise([11, 22, 33]).step(batch, 5);
    const alone = new Float32Array(perSample);
    seededNoise([22]).step(alone, 5);
    expect(batch.subarray(perSample, 2 * perSample)).toEqual(alone);
    const initialBatch = new Float32Array(3 * perSample);
    const initialAlone = new Float32Array(perSample);
    seededNoise([11, 22, 33]).initial(initialBatch);
    seededNoise([33]).initial(initialAlone);
    expect(initialBatch.subarray(2 * perSample)).toEqual(initialAlone);
  });

  it('replays supplied arrays and says when steps are missing', () => {
    const source = replayedNoise(Float32Array.of(1, 2), Float32Array.of(3, 4, 5, 6));
    const target = new Float32Array(2);
    source.initial(target);
    expect([...target]).toEqual([1, 2]);
    source.step(target, 1);
    expect([...target]).toEqual([5, 6]);
    expect(() => source.step(target, 2)).toThrow(/no values for sampling step 2/);
  });
});
