/** The sweep recipe chunk against files that are not what they claim: none, damaged, edited, from a newer studio. */
import { describe, expect, it } from 'vitest';
import { SWEEP_RECIPE_PNG_KEYWORD, type SweepRecipe } from '../../../common/contract/sweep-grid';
import { MAX_RECIPE_BYTES, RecipeReadError } from '../../../electron/png/recipe-chunk';
import { readSweepRecipe, withSweepRecipe } from '../../../electron/png/sweep-chunk';
import { chunkBytes, framedPng, textData } from './hostile-pngs';

const recipe: SweepRecipe = {
  kind: 'sweep',
  format: 1,
  model: { id: 'tiny-test', sha256: 'b'.repeat(64) },
  sweep: {
    request: { modelId: 'tiny-test', classIndex: 1, mode: 'conditional', scale: 4, sampler: 'ddim', steps: 'ddim25', eta: 0, clipDenoised: true, seeds: [1], batchSize: 1, provider: 'auto' },
    x: { setting: 'class', values: [0, 1, 2] },
    y: { setting: 'sampler', values: [{ sampler: 'ddpm', steps: '50' }] },
    recordTrajectory: false,
  },
  noiseAlgorithm: 'philox4x32-10/box-muller/v1',
  appVersion: '0.1.0',
};

const withRaw = (text: string) => framedPng(4, chunkBytes('tEXt', textData(SWEEP_RECIPE_PNG_KEYWORD, text)));

describe('sweep recipe chunk', () => {
  it('round-trips, replacing an earlier sweep recipe rather than adding a second', () => {
    const once = withSweepRecipe(framedPng(4), { ...recipe, appVersion: '0.0.9' });
    const twice = withSweepRecipe(once, recipe);
    expect(readSweepRecipe(twice)).toEqual(recipe);
    expect(Buffer.from(twice).toString('latin1').split(SWEEP_RECIPE_PNG_KEYWORD).length - 1).toBe(1);
  });

  it('refuses, with a sentence, a PNG without one, edited JSON, a newer format and an oversized chunk', () => {
    expect(() => readSweepRecipe(framedPng(4))).toThrow(/no sweep recipe/);
    expect(() => readSweepRecipe(withRaw('{"kind": "sweep",'))).toThrow(/not valid JSON/);
    expect(() => readSweepRecipe(withRaw(JSON.stringify({ ...recipe, format: 2 })))).toThrow(/not one this version of the studio understands \(format: /);
    expect(() => readSweepRecipe(withRaw(JSON.stringify({ ...recipe, sweep: { ...recipe.sweep, y: { setting: 'class', values: [1] } } })))).toThrow(/sweep\.y: the two axes of a sweep must change different settings/);
    expect(() => readSweepRecipe(withRaw(' '.repeat(MAX_RECIPE_BYTES + 1)))).toThrow(/more than the 65536/);
    expect(() => readSweepRecipe(Uint8Array.from([1, 2, 3]))).toThrow(RecipeReadError);
  });
});
