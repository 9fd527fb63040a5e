/** The gallery's classifier-free weight bounds: sent to the gallery as asked, and applied to a sample that finishes while they are set. */
import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import { matchesFilters, noFilters, queryOf } from '../../../renderer/src/state/gallery.svelte';

const sample = (cfgScale: number | null): SampleRecord => ({
  id: 1,
  runId: 1,
  modelId: 'fashion-mnist',
  classIndex: 0,
  scale: 2,
  mode: cfgScale === null ? 'conditional+classifier' : 'classifier-free+classifier',
  sampler: 'ddim',
  steps: 'ddim25',
  seed: 1,
  width: 28,
  height: 28,
  hasThumbnail: false,
  cfgScale,
  confidence: null,
  favorite: false,
  tags: [],
  notes: '',
  createdAt: 0,
});

describe('the w filter', () => {
  it('goes into the gallery query only when a bound is set', () => {
    expect(queryOf(noFilters)).not.toHaveProperty('cfgScaleMin');
    expect(queryOf({ ...noFilters, cfgScaleMin: 1, cfgScaleMax: 3 })).toMatchObject({ cfgScaleMin: 1, cfgScaleMax: 3 });
  });

  it('keeps a finished sample whose w lies within the bounds, and one without w only while no bound is set', () => {
    const bounded = { ...noFilters, cfgScaleMin: 1, cfgScaleMax: 3 };
    expect(matchesFilters(sample(2), bounded)).toBe(true);
    expect(matchesFilters(sample(3.5), bounded)).toBe(false);
    expect(matchesFilters(sample(0.5), bounded)).toBe(false);
    expect(matchesFilters(sample(null), bounded)).toBe(false);
    expect(matchesFilters(sample(null), noFilters)).toBe(true);
    expect(matchesFilters(sample(null), { ...noFilters, cfgScaleMax: 3 })).toBe(false);
  });
});
