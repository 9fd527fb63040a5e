/**
 * Recipes of runs that switch settings part way, and of forks and comparisons: the switch and the
 * links go into a PNG and come back as the same request, as format 4; recipes from before the
 * switch import unchanged; a switch the installed model cannot run is refused at import.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recipe, recipeFromRequest, recipeToRunRequest } from '../../../common/contract/recipe';
import { RunRequest } from '../../../common/contract/run-request';
import { ModelManifest } from '../../../common/models/manifest';
import { modelFingerprint } from '../../../common/models/model-identity';
import { planRun } from '../../../common/models/run-plan';
import { importRecipe, RecipeReadError } from '../../../electron/gallery';
import { withRecipe } from '../../../electron/png/recipe-chunk';
import { APP_VERSION, NOISE_ALGORITHM, testPng } from './gallery-fixtures';

const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/tiny-model/manifest.json'), 'utf8')));
const installed = { ...modelFingerprint(manifest), manifest };
const findModel = (id: string) => (id === manifest.id ? installed : undefined);
const withoutManifest = (id: string) => (id === manifest.id ? { ...modelFingerprint(manifest), classCount: manifest.classes.count } : undefined);

const facts = {
  seed: 9,
  modelSha256: installed.sha256,
  classifierSha256: installed.classifierSha256,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu' as const,
  appVersion: APP_VERSION,
  createdAt: new Date('2026-12-01T22:00:00Z'),
};

const forkRequest = RunRequest.parse({
  modelId: 'tiny-test',
  classIndex: 0,
  mode: 'conditional+classifier',
  scale: 3,
  sampler: 'ddim',
  steps: 'ddim10',
  seeds: [9],
  batchSize: 1,
  provider: 'cpu',
  switchAt: { step: 4, classIndex: 2, sampler: 'dpmpp2m', scale: 5 },
  forkOf: { sampleId: 12, step: 4 },
});

/** A recipe from before switches (format 3): none of the new fields. */
const formatThreeRecipe = {
  format: 3,
  model: { id: 'tiny-test', sha256: installed.sha256, classifierSha256: installed.classifierSha256 },
  classIndex: 1,
  mode: 'conditional+classifier',
  scale: 4,
  sampler: 'dpmpp2m',
  steps: 'ddim10',
  eta: 0,
  seed: 5,
  clipDenoised: true,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu',
  appVersion: '0.0.10',
};

describe('switch recipes', () => {
  it('round-trips a fork (switch and forkOf) through a PNG as format 4', () => {
    const recipe = recipeFromRequest(forkRequest, facts);
    expect(recipe).toMatchObject({ format: 4, classIndex: 0, switchAt: { step: 4, classIndex: 2, sampler: 'dpmpp2m', scale: 5 }, forkOf: { sampleId: 12, step: 4 } });
    const imported = importRecipe(withRecipe(testPng(8), recipe), findModel, NOISE_ALGORITHM);
    expect(imported.warning).toBeNull();
    expect(imported.request).toEqual(forkRequest);
    expect(planRun(manifest, imported.request).switchAt).toMatchObject({ step: 4, classIndex: 2, sampler: 'dpmpp2m' });
  });

  it('keeps the comparison link without raising the format of a plain run', () => {
    const compared = RunRequest.parse({ ...forkRequest, switchAt: undefined, forkOf: undefined, comparedWith: { sampleId: 12, setting: 'scale' } });
    const recipe = recipeFromRequest(compared, facts);
    expect(recipe.format).toBe(1);
    expect(recipe.comparedWith).toEqual({ sampleId: 12, setting: 'scale' });
    expect(recipeToRunRequest(recipe)).toEqual(compared);
  });

  it('imports a recipe from before switches unchanged', () => {
    const imported = importRecipe(withRecipe(testPng(8), Recipe.parse(formatThreeRecipe)), findModel, NOISE_ALGORITHM);
    expect(imported.request).not.toHaveProperty('switchAt');
    expect(imported.request).not.toHaveProperty('forkOf');
    expect(imported.request).not.toHaveProperty('comparedWith');
    expect(imported.request).toMatchObject({ classIndex: 1, sampler: 'dpmpp2m', steps: 'ddim10', scale: 4, seeds: [5] });
    expect(planRun(manifest, imported.request).switchAt).toBeNull();
  });

  it('refuses a switch to a class the installed model lacks, with or without its manifest', () => {
    const recipe = Recipe.parse({ ...formatThreeRecipe, format: 4, switchAt: { step: 3, classIndex: 5 } });
    const png = withRecipe(testPng(8), recipe);
    expect(() => importRecipe(png, findModel, NOISE_ALGORITHM)).toThrow(RecipeReadError);
    expect(() => importRecipe(png, findModel, NOISE_ALGORITHM)).toThrow(
      'The recipe switches to class 5 at step 3, but model "tiny-test" has only 3 classes (0–2); the installed model is not the one that made this image.',
    );
    expect(() => importRecipe(png, withoutManifest, NOISE_ALGORITHM)).toThrow('The recipe switches to class 5 at step 3');
  });

  it('refuses a switch step the recipe\'s spacing does not reach, with the planner\'s sentence', () => {
    const recipe = Recipe.parse({ ...formatThreeRecipe, format: 4, switchAt: { step: 10, classIndex: 2 } });
    expect(() => importRecipe(withRecipe(testPng(8), recipe), findModel, NOISE_ALGORITHM)).toThrow(
      "The recipe's settings cannot run on the installed \"tiny-test\": The switch at step 10 is outside this run: with 10 steps it must be from 1 to 9 (step 0 always uses the run's own settings).",
    );
  });
});
