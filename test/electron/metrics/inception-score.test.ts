import { describe, expect, it } from 'vitest';
import type { FeatureMatrix } from '../../../electron/metrics/dense-matrix';
import { inceptionScore, inceptionSplitSizes } from '../../../electron/metrics/inception-score';

/** Logits of a confident classifier: `confidence` nats above every other class for class classOf(i). */
function confidentLogits(count: number, classes: number, classOf: (i: number) => number, confidence = 40): FeatureMatrix {
  const data = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) data[i * classes + classOf(i)] = confidence;
  return { count, dimension: classes, data };
}

describe("the Inception Score with the reference evaluator's splits", () => {
  it('gives about the number of classes for perfectly classified, balanced samples in drawing order', () => {
    // An evaluation's sample i has class classes[i mod K]: every split holds every class equally.
    const score = inceptionScore(confidentLogits(1000, 10, (i) => i % 10));
    expect(score.splitSizes).toEqual([1000]);
    expect(score.score).toBeGreaterThan(9.99);
    expect(score.score).toBeLessThanOrEqual(10 + 1e-9);
  });

  it('gives about the number of classes over several splits of 5,000, the last one shorter', () => {
    const score = inceptionScore(confidentLogits(12_000, 10, (i) => i % 10));
    expect(score.splitSizes).toEqual([5000, 5000, 2000]);
    expect(score.score).toBeGreaterThan(9.99);
  });

  it('falls to about 1 for class-sorted samples cut into small splits: why the order matters', () => {
    // 10 classes of 100 sorted by class, with splits of 100: each split holds one class.
    const sorted = inceptionScore(confidentLogits(1000, 10, (i) => Math.floor(i / 100)), 100);
    expect(sorted.splitSizes).toHaveLength(10);
    expect(sorted.score).toBeLessThan(1.01);
  });

  it('splits a count into runs of the split size', () => {
    expect(inceptionSplitSizes(5000)).toEqual([5000]);
    expect(inceptionSplitSizes(5001)).toEqual([5000, 1]);
    expect(inceptionSplitSizes(3, 2)).toEqual([2, 1]);
  });

  it('refuses no samples, a split size below 1 and non-finite logits with a sentence', () => {
    expect(() => inceptionScore({ count: 0, dimension: 3, data: new Float32Array(0) })).toThrow(/at least one sample/);
    expect(() => inceptionScore(confidentLogits(4, 2, () => 0), 0)).toThrow(/split size of at least 1 sample, got 0/);
    const broken = confidentLogits(4, 2, () => 0);
    broken.data[3] = Number.NaN;
    expect(() => inceptionScore(broken)).toThrow(/NaN or infinite/);
  });
});
