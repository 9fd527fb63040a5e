import { describe, expect, it } from 'vitest';
import { IMAGES_PER_THREAD, intraOpThreads } from '../../../electron/inference/thread-policy';

describe('intraOpThreads', () => {
  it('gives a quiet two-core machine both threads from batch 16 on', () => {
    expect(intraOpThreads({ cores: 2, loadAverage: 0.2, batch: 16 })).toBe(2);
    expect(intraOpThreads({ cores: 2, loadAverage: 0.2, batch: 64 })).toBe(2);
  });

  it('keeps one thread while the batch is too small to share', () => {
    expect(intraOpThreads({ cores: 2, loadAverage: 0, batch: 1 })).toBe(1);
    expect(intraOpThreads({ cores: 2, loadAverage: 0, batch: 2 * IMAGES_PER_THREAD - 1 })).toBe(1);
  });

  it('gives a loaded two-core machine one thread whatever the batch', () => {
    for (const loadAverage of [1.6, 3, 9]) {
      expect(intraOpThreads({ cores: 2, loadAverage, batch: 64 })).toBe(1);
    }
  });

  it('uses the cores other work leaves free on a larger machine', () => {
    expect(intraOpThreads({ cores: 16, loadAverage: 0, batch: 64 })).toBe(8);
    expect(intraOpThreads({ cores: 16, loadAverage: 0, batch: 512 })).toBe(16);
    expect(intraOpThreads({ cores: 16, loadAverage: 10.4, batch: 512 })).toBe(6);
    expect(intraOpThreads({ cores: 16, loadAverage: 40, batch: 512 })).toBe(1);
  });

  it('takes every free core when the batch is not known', () => {
    expect(intraOpThreads({ cores: 2, loadAverage: 0.3, batch: Infinity })).toBe(2);
    expect(intraOpThreads({ cores: 2, loadAverage: 4, batch: Infinity })).toBe(1);
  });

  it('refuses inputs no machine reports', () => {
    expect(() => intraOpThreads({ cores: 0, loadAverage: 0, batch: 1 })).toThrow(/cores must be a whole number/);
    expect(() => intraOpThreads({ cores: 2, loadAverage: Number.NaN, batch: 1 })).toThrow(/loadAverage must be a finite number/);
    expect(() => intraOpThreads({ cores: 2, loadAverage: 0, batch: 0 })).toThrow(/batch must be/);
  });
});
