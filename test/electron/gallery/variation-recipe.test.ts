/** Recipes with and without the variation seed: old ones import unchanged, new ones round-trip, broken ones are refused. */
import { describe, expect, it } from 'vitest';
import { RECIPE_FORMAT, RECIPE_PNG_KEYWORD, recipeFromRequest, recipeToRunRequest } from '../../../common/contract/recipe';
import { importRecipe } from '../../../electron/gallery/recipes';
import { RecipeReadError, readRecipe, withRecipe } from '../../../electron/png/recipe-chunk';
import { chunkBytes, framedPng, textData } from '../png/hostile-pngs';
import { APP_VERSION, NOISE_ALGORITHM, testPng, testRequest } from './gallery-fixtures';

const facts = {
  seed: 3,
  modelSha256: 'b'.repeat(64),
  classifierSha256: null,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu' as const,
  appVersion: APP_VERSION,
  createdAt: new Date('2026-01-02T03:04:05Z'),
};

/** A recipe exactly as a studio without variations wrote it. */
const formatOneRecipe = {
  format: 1,
  model: { id: 'tiny-test', sha256: 'b'.repeat(64) },
  classIndex: 7,
  mode: 'conditional',
  scale: 4,
  sampler: 'ddim',
  steps: 'ddim25',
  eta: 0,
  seed: 3,
  clipDenoised: true,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu',
  appVersion: APP_VERSION,
};

const installed = () => ({ sha256: 'b'.repeat(64), classifierSha256: null, classCount: 10 });

/** A PNG whose recipe chunk holds `json` as it is, bypassing the writer's checks. */
function pngWithRawRecipe(json: unknown): Uint8Array {
  return framedPng(8, chunkBytes('tEXt', textData(RECIPE_PNG_KEYWORD, JSON.stringify(json))));
}

describe('recipes and the variation seed', () => {
  it('imports a format-1 recipe without the variation fields unchanged, as a plain run of its seed', () => {
    const imported = importRecipe(pngWithRawRecipe(formatOneRecipe), installed, NOISE_ALGORITHM);
    expect(imported.warning).toBeNull();
    expect(imported.request).toEqual({
      modelId: 'tiny-test', classIndex: 7, mode: 'conditional', scale: 4, sampler: 'ddim', steps: 'ddim25', eta: 0, clipDenoised: true,
      seeds: [3], batchSize: 1, provider: 'cpu',
    });
  });

  it('writes format 2 with the subseed and strength for a varied sample, and reads them back into the run request', () => {
    const recipe = recipeFromRequest(testRequest({ subseed: 4000000000, subseedStrength: 0.125 }), facts);
    expect(recipe).toMatchObject({ format: 2, seed: 3, subseed: 4000000000, subseedStrength: 0.125 });
    const read = readRecipe(withRecipe(testPng(8, 2), recipe));
    expect(read).toEqual(recipe);
    expect(recipeToRunRequest(read)).toMatchObject({ seeds: [3], subseed: 4000000000, subseedStrength: 0.125 });
  });

  it('leaves a subseed at strength 0 out of the recipe, since it changes nothing', () => {
    const recipe = recipeFromRequest(testRequest({ subseed: 12, subseedStrength: 0 }), facts);
    expect(recipe.format).toBe(1);
    expect(recipe).not.toHaveProperty('subseed');
  });

  it('refuses a recipe with a strength but no subseed, with a sentence', () => {
    const png = pngWithRawRecipe({ ...formatOneRecipe, format: 2, subseedStrength: 0.5 });
    expect(() => importRecipe(png, installed, NOISE_ALGORITHM)).toThrow(RecipeReadError);
    expect(() => importRecipe(png, installed, NOISE_ALGORITHM)).toThrow(/cannot be re-run: A variation strength of 0.5 needs a variation seed/);
  });

  it('refuses a strength outside 0 to 1 and a format from a newer studio', () => {
    expect(() => readRecipe(pngWithRawRecipe({ ...formatOneRecipe, format: 2, subseed: 1, subseedStrength: 2 }))).toThrow(/subseedStrength: the variation strength is at most 1/);
    expect(() => readRecipe(pngWithRawRecipe({ ...formatOneRecipe, format: RECIPE_FORMAT + 1 }))).toThrow(/format/);
  });
});
