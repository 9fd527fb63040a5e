import { describe, expect, it } from 'vitest';
import type { EvaluationRecord, EvaluationResult } from '../../common/contract/evaluation';
import { DEFAULT_CFG_SCALE } from '../../common/contract/run-request';
import {
  figureOverRepeats,
  inceptionSplitsLabel,
  meanAndDeviation,
  repeatsOf,
  smallSampleWarning,
} from '../../renderer/src/features/evaluation/evaluation-figures';

const HASH = 'a'.repeat(64);

function result(scale: number, fid: number, sampleCount = 1000): EvaluationResult {
  return {
    scale, sampleCount, fid, sfid: null, inceptionScore: 8.5, inceptionSplitSizes: [sampleCount], precision: 0.7, recall: 0.6,
    density: 0.9, coverage: 0.8, classAccuracy: 0.95,
    provenance: {
      sampleCount, firstSeed: 0, lastSeed: sampleCount - 1, sampler: 'ddim', steps: 'ddim25', eta: 0, mode: 'conditional',
      evaluatorSha256: HASH, referenceFeaturesSha256: HASH, referenceMuSha256: HASH, referenceSigmaSha256: HASH, referenceCount: 10_000,
    },
  };
}

function evaluation(id: number, seedOffset: number, fid: number, status: EvaluationRecord['status'] = 'completed'): EvaluationRecord {
  return {
    id, status, error: null, createdAt: 0, endedAt: 1,
    spec: { modelId: 'fashion-mnist', classes: [0, 1], scales: [2], mode: 'conditional', sampler: 'ddim', steps: 'ddim25', eta: 0, samplesPerScale: 1000, seedOffset },
    results: [result(2, fid)],
  };
}

describe('how the evaluation page words its figures', () => {
  it('states the Inception Score splits beside the figure', () => {
    expect(inceptionSplitsLabel([1000])).toBe('1 split of 1,000');
    expect(inceptionSplitsLabel([5000, 5000])).toBe('2 splits of 5,000');
    expect(inceptionSplitsLabel([5000, 5000, 2000])).toBe('2 splits of 5,000 and 1 of 2,000');
    expect(inceptionSplitsLabel(null)).toMatch(/10 equal splits, before/);
  });

  it('gives the sample standard deviation over repeats', () => {
    expect(meanAndDeviation([10, 12, 14])).toEqual({ mean: 12, deviation: 2 });
    expect(meanAndDeviation([7])).toEqual({ mean: 7, deviation: null });
  });

  it('groups completed evaluations that differ only by seed offset and shows mean ± std', () => {
    const first = evaluation(1, 0, 10);
    const others = [evaluation(2, 1000, 12), evaluation(3, 2000, 14), evaluation(4, 3000, 99, 'failed'), { ...evaluation(5, 4000, 50), spec: { ...evaluation(5, 4000, 50).spec, steps: 'ddim50' } }];
    const repeats = repeatsOf(first, others);
    expect(repeats.map((repeat) => repeat.id)).toEqual([1, 2, 3]);
    expect(figureOverRepeats(repeats, 2, 'fid', 3)).toBe('12.000 ± 2.000 (3 seed offsets)');
    expect(figureOverRepeats([first], 2, 'fid', 3)).toBe('10.000');
    expect(figureOverRepeats(repeats, 4, 'fid', 3)).toBeNull();
  });

  it('counts a classifier-free repeat that names the default w or lists its keys in another order as a repeat, and one with another w as not', () => {
    const cfg = (id: number, seedOffset: number, extra: Partial<EvaluationRecord['spec']>): EvaluationRecord => {
      const base = evaluation(id, seedOffset, 10 + id);
      return { ...base, spec: { ...base.spec, mode: 'classifier-free', ...extra } };
    };
    const first = cfg(1, 0, {});
    const { modelId, ...rest } = cfg(2, 1000, { cfgScale: DEFAULT_CFG_SCALE, guidanceSchedule: { kind: 'constant' } }).spec;
    const reordered: EvaluationRecord = { ...cfg(2, 1000, {}), spec: { ...rest, modelId } };
    const otherWeight = cfg(3, 2000, { cfgScale: DEFAULT_CFG_SCALE + 1 });
    expect(repeatsOf(first, [reordered, otherWeight]).map((repeat) => repeat.id)).toEqual([1, 2]);
  });

  it('warns when the sample count is below the reference batch, and not at or above it', () => {
    expect(smallSampleWarning(result(0, 9, 1000))).toMatch(/FID at 1,000 samples is biased upward against a reference of 10,000.*raise the samples per scale to 10,000/);
    expect(smallSampleWarning(result(0, 9, 10_000))).toBeNull();
    expect(smallSampleWarning({ ...result(0, 9, 10), provenance: null })).toBeNull();
  });
});
