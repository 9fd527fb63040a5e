/**
 * Recipes of the guidance lab: classifier-free guidance, guidance schedules and DPM-Solver++ go
 * into a PNG and come back as the same request; recipes written before them import unchanged;
 * a recipe whose DDIM guidance would saturate is refused at import with the planner's sentence.
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

const facts = {
  seed: 9,
  modelSha256: installed.sha256,
  classifierSha256: installed.classifierSha256,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu' as const,
  appVersion: APP_VERSION,
  createdAt: new Date('2026-12-01T22:00:00Z'),
};

const labRequest = RunRequest.parse({
  modelId: 'tiny-test',
  classIndex: 2,
  mode: 'classifier-free+classifier',
  cfgScale: 2.5,
  guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 },
  scale: 3,
  sampler: 'dpmpp2m',
  steps: 'ddim15',
  seeds: [9],
  batchSize: 1,
  provider: 'cpu',
});

/** A recipe as studios before the guidance lab wrote it (format 1): none of the new fields. */
const oldRecipe = {
  format: 1,
  model: { id: 'tiny-test', sha256: installed.sha256, classifierSha256: installed.classifierSha256 },
  classIndex: 1,
  mode: 'conditional+classifier',
  scale: 4,
  sampler: 'ddim',
  steps: 'ddim10',
  eta: 0,
  seed: 5,
  clipDenoised: true,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu',
  appVersion: '0.0.9',
};

describe('guidance lab recipes', () => {
  it('round-trips the weight, the schedule and DPM-Solver++ through a PNG, as format 3', () => {
    const recipe = recipeFromRequest(labRequest, facts);
    expect(recipe).toMatchObject({ format: 3, mode: 'classifier-free+classifier', cfgScale: 2.5, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 }, sampler: 'dpmpp2m' });
    const imported = importRecipe(withRecipe(testPng(8), recipe), findModel, NOISE_ALGORITHM);
    expect(imported.warning).toBeNull();
    expect(imported.request).toEqual(labRequest);
    expect(planRun(manifest, imported.request).classifierFree).toEqual({ label: 2, nullClass: 3, weight: 2.5 });
  });

  it('writes a ramp, and leaves a constant schedule and a weight the mode does not read out of the recipe', () => {
    const ramp = recipeFromRequest({ ...labRequest, mode: 'conditional+classifier', sampler: 'ddpm', steps: '10', guidanceSchedule: { kind: 'ramp', from: 1.5, to: 0 } }, facts);
    expect(ramp).toMatchObject({ format: 3, guidanceSchedule: { kind: 'ramp', from: 1.5, to: 0 } });
    expect(ramp.cfgScale).toBeUndefined();
    const plain = recipeFromRequest({ ...labRequest, mode: 'conditional+classifier', sampler: 'ddim', guidanceSchedule: { kind: 'constant' } }, facts);
    expect(plain.format).toBe(1);
    expect(plain).not.toHaveProperty('guidanceSchedule');
    expect(plain).not.toHaveProperty('cfgScale');
  });

  it('imports a recipe from before the guidance lab unchanged: constant schedule, no weight', () => {
    const imported = importRecipe(withRecipe(testPng(8), Recipe.parse(oldRecipe)), findModel, NOISE_ALGORITHM);
    expect(imported.request).not.toHaveProperty('cfgScale');
    expect(imported.request).not.toHaveProperty('guidanceSchedule');
    expect(imported.request).toMatchObject({ mode: 'conditional+classifier', sampler: 'ddim', steps: 'ddim10', scale: 4, seeds: [5] });
    expect(planRun(manifest, imported.request).guidanceSchedule).toEqual({ kind: 'constant' });
    expect(recipeToRunRequest(Recipe.parse(oldRecipe))).toEqual(imported.request);
  });

  it('refuses at import a DDIM recipe whose guidance starts where it saturates, with the way out', () => {
    const trapped = Recipe.parse({ ...oldRecipe, steps: '10' });
    const read = () => importRecipe(withRecipe(testPng(8), trapped), findModel, NOISE_ALGORITHM);
    expect(read).toThrow(RecipeReadError);
    expect(read).toThrow(/^The recipe's settings cannot run on the installed "tiny-test": DDIM with plain respacing '10' starts at t = 99 where .* use 'ddim10'\.$/);
  });

  it('refuses a schedule the recipe cannot carry with the contract\'s sentence', () => {
    const parsed = Recipe.safeParse({ ...oldRecipe, format: 3, guidanceSchedule: { kind: 'ramp', from: 'high', to: 0 } });
    expect(parsed.error?.issues[0]?.message).toBe('the ramp start factor must be a number');
  });
});
