/** Every resource bound of the contract refuses the value past it with a sentence that names the limit. */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { describeProblems, MAX_SEEDS_PER_RUN, quoteStart } from '../../common/contract/bounds';
import { SampleEdit, SampleQuery } from '../../common/contract/gallery';
import { EvaluationSpec } from '../../common/contract/evaluation';
import { Recipe } from '../../common/contract/recipe';
import { RunRequest } from '../../common/contract/run-request';
import { base64Length, MAX_RECIPE_PNG_BYTES } from '../../common/contract/bridge-protocol';
import { LoadModelRequest, RecipeSource, SavePresetRequest, SweepRequest } from '../../common/contract/studio-api';

const MIB = 1024 * 1024;
const oneMebibyteId = 'm'.repeat(MIB);

const run = { modelId: 'tiny-test', classIndex: 1, mode: 'conditional', scale: 2, sampler: 'ddim', steps: 'ddim10', seeds: [1, 2, 3] };
const evaluation = { modelId: 'tiny-test', classes: [0, 1], scales: [0, 2], mode: 'conditional', sampler: 'ddim', steps: 'ddim10', samplesPerScale: 100 };
const recipe = {
  format: 1,
  model: { id: 'tiny-test', sha256: 'a'.repeat(64) },
  classIndex: 1,
  className: 'square',
  mode: 'conditional',
  scale: 2,
  sampler: 'ddim',
  steps: 'ddim10',
  eta: 0,
  seed: 7,
  clipDenoised: true,
  noiseAlgorithm: 'philox4x32-10/box-muller/v1',
  provider: 'cpu',
  appVersion: '0.1.0',
};

/** The messages of a refused value; fails the test when the value is accepted. */
function refusal(schema: z.ZodType, value: unknown): string[] {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error(`expected ${JSON.stringify(value).slice(0, 80)} to be refused`);
  return parsed.error.issues.map((issue) => issue.message);
}

describe('run requests', () => {
  it('accepts 1024 seeds and refuses a million with the limit and a way out', () => {
    expect(RunRequest.safeParse({ ...run, seeds: Array.from({ length: MAX_SEEDS_PER_RUN }, (_, seed) => seed) }).success).toBe(true);
    const messages = refusal(RunRequest, { ...run, seeds: Array.from({ length: 1_000_000 }, (_, seed) => seed) });
    expect(messages).toEqual(['at most 1,024 seeds per run (got 1,000,000); split it into several runs']);
  });

  it('refuses a 1 MiB model id without echoing it', () => {
    const [message] = refusal(RunRequest, { ...run, modelId: oneMebibyteId });
    expect(message).toBe(`a model id has at most 200 characters (got 1,048,576, starting "${'m'.repeat(60)}…"); shorten it`);
    expect(refusal(LoadModelRequest, { modelId: oneMebibyteId })[0]).toContain('at most 200 characters');
  });

  it('refuses a steps string past 64 characters and a batch past 256', () => {
    expect(refusal(RunRequest, { ...run, steps: '1,'.repeat(40) })[0]).toMatch(/^the steps setting has at most 64 characters \(got 80/);
    expect(refusal(RunRequest, { ...run, batchSize: 257 })).toEqual(['the batch size must be a whole number from 1 to 256 (got 257); larger batches do not fit in memory']);
  });

  it('refuses a class index past the largest class count a model may have', () => {
    expect(refusal(RunRequest, { ...run, classIndex: 2 ** 53 - 1 })).toEqual(['a class index must be a whole number from 0 to 99,999 (got 9,007,199,254,740,991)']);
  });

  it('refuses a sweep of 17 scales', () => {
    const scales = Array.from({ length: 17 }, (_, index) => index);
    expect(refusal(SweepRequest, { request: run, scales })).toEqual(['a sweep runs at most 16 guidance scales (got 17); split it into several sweeps']);
  });
});

describe('evaluation specs', () => {
  it('refuses 2^53 − 1 samples per scale with the limit', () => {
    expect(refusal(EvaluationSpec, { ...evaluation, samplesPerScale: 2 ** 53 - 1 })).toEqual([
      'the samples per scale must be a whole number from 1 to 50,000 (got 9,007,199,254,740,991); FID is usually quoted at 50,000',
    ]);
    expect(EvaluationSpec.safeParse({ ...evaluation, samplesPerScale: 50_000 }).success).toBe(true);
  });

  it('refuses 33 scales, 1001 classes, and a repeated class or scale', () => {
    expect(refusal(EvaluationSpec, { ...evaluation, scales: Array.from({ length: 33 }, (_, index) => index) })).toEqual([
      'an evaluation scores at most 32 guidance scales (got 33); split it into several evaluations',
    ]);
    expect(refusal(EvaluationSpec, { ...evaluation, classes: Array.from({ length: 1001 }, (_, index) => index) })).toEqual([
      'an evaluation cycles through at most 1,000 classes (got 1,001); evaluate fewer classes at a time',
    ]);
    expect(refusal(EvaluationSpec, { ...evaluation, classes: [1, 1] })).toEqual(['each class may appear only once in an evaluation; remove the repeated ones']);
    expect(refusal(EvaluationSpec, { ...evaluation, scales: [2, 2] })).toEqual(['each guidance scale may appear only once in an evaluation; remove the repeated ones']);
  });
});

describe('gallery edits, queries and presets', () => {
  it('bounds tags, notes, notes searches and preset names', () => {
    expect(refusal(SampleEdit, { kind: 'tag', sampleId: 1, tag: 't'.repeat(65) })[0]).toMatch(/^a tag has at most 64 characters \(got 65/);
    expect(refusal(SampleEdit, { kind: 'notes', sampleId: 1, notes: 'n'.repeat(10_001) })[0]).toMatch(/^the notes text has at most 10,000 characters \(got 10,001/);
    expect(refusal(SampleQuery, { notesText: 'q'.repeat(MIB) })[0]).toMatch(/^the notes search text has at most 200 characters/);
    expect(refusal(SavePresetRequest, { name: 'p'.repeat(101), settings: run })[0]).toMatch(/^a preset name has at most 100 characters \(got 101/);
    expect(refusal(SavePresetRequest, { name: '   ', settings: run })).toEqual(['a preset needs a name']);
  });
});

describe('recipes', () => {
  it('bounds every string a PNG recipe carries', () => {
    expect(Recipe.safeParse(recipe).success).toBe(true);
    expect(refusal(Recipe, { ...recipe, model: { ...recipe.model, id: oneMebibyteId } })[0]).toMatch(/^a model id has at most 200 characters/);
    expect(refusal(Recipe, { ...recipe, className: 'c'.repeat(101) })[0]).toMatch(/^a class name has at most 100 characters/);
    expect(refusal(Recipe, { ...recipe, noiseAlgorithm: 'r'.repeat(101) })[0]).toMatch(/^the noise generator name has at most 100 characters/);
    expect(refusal(Recipe, { ...recipe, appVersion: 'v'.repeat(101) })[0]).toMatch(/^the app version has at most 100 characters/);
    expect(refusal(Recipe, { ...recipe, steps: 'ddim'.repeat(20) })[0]).toMatch(/^the steps setting has at most 64 characters/);
  });

  it('accepts a 70 MiB PNG as base64 and refuses a larger one before checking its characters', () => {
    expect(base64Length(MAX_RECIPE_PNG_BYTES)).toBeLessThan(96 * MIB);
    expect(RecipeSource.safeParse({ png: 'A'.repeat(base64Length(MAX_RECIPE_PNG_BYTES)) }).success).toBe(true);
    expect(refusal(RecipeSource, { png: '*'.repeat(base64Length(75 * MIB)) })).toEqual([
      'a recipe PNG is at most 70 MiB (got about 75 MiB); a studio PNG is far smaller, so pick the exported image itself',
    ]);
  });
});

describe('error sentences', () => {
  it('quote at most 60 characters of a user string, with control characters shown as "?"', () => {
    expect(quoteStart('short')).toBe('"short"');
    expect(quoteStart('a\u0000b\nc')).toBe('"a?b?c"');
    expect(quoteStart('é'.repeat(61))).toBe(`"${'é'.repeat(60)}…"`);
  });

  it('list three problems and count the rest, so a thousand bad seeds give one short sentence', () => {
    const parsed = RunRequest.safeParse({ ...run, seeds: Array.from({ length: 1000 }, () => 'x') });
    expect(parsed.success).toBe(false);
    const sentence = describeProblems(parsed.error!);
    expect(sentence).toMatch(/^seeds\.0: a seed must be a whole number from 0 to 4,294,967,295; seeds\.1: .*; and 997 more$/);
    expect(sentence.length).toBeLessThan(500);
  });

  it('name where the problem is, then the sentence', () => {
    const parsed = RunRequest.safeParse({ ...run, seeds: [] });
    const sentence = describeProblems(parsed.error!);
    expect(sentence).toBe('seeds: a run needs at least one seed');
  });
});
