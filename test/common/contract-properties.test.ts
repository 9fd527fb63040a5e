/**
 * Property tests of the contract's request schemas: for any JSON value (and for values close to a
 * valid request, with fields swapped for arbitrary or huge ones) a parse either succeeds with a
 * value inside every bound, or fails with a ZodError whose sentences stay short.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  describeProblems,
  MAX_EVALUATION_CLASSES,
  MAX_EVALUATION_SAMPLES_PER_SCALE,
  MAX_EVALUATION_SCALES,
  MAX_SEEDS_PER_RUN,
  MAX_SWEEP_SCALES,
  TEXT_LIMITS,
} from '../../common/contract/bounds';
import { SampleEdit, SampleQuery } from '../../common/contract/gallery';
import { EvaluationSpec } from '../../common/contract/evaluation';
import { Recipe } from '../../common/contract/recipe';
import { RunRequest } from '../../common/contract/run-request';
import { studioOperations, SweepRequest } from '../../common/contract/studio-api';

const MIB = 1024 * 1024;
const LONGEST_SENTENCE = 500;
/** The longest string any accepted request may hold (a sample's notes); the recipe PNG is checked on its own. */
const LONGEST_ACCEPTED_TEXT = TEXT_LIMITS.notes;

const hugeText = fc.constantFrom('x'.repeat(MIB), '\u0000'.repeat(MIB), 'é'.repeat(70_000), 'ddim'.repeat(100));
const hugeList = fc.constantFrom(
  Array.from({ length: 100_000 }, (_, index) => index),
  Array.from({ length: 2000 }, () => 'x'.repeat(1000)),
  Array.from({ length: 1025 }, () => 2 ** 53 - 1),
);
const hostileNumber = fc.constantFrom(2 ** 53 - 1, -1, 1e308, -0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32);
/** Anything a page or a hostile client could send in one field. */
const anyField = fc.oneof(fc.jsonValue(), hugeText, hugeList, hostileNumber);

/** A valid base value with each field kept, dropped or replaced by anything. */
function nearly(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(
    Object.entries(base).map(([key, value]) => [key, fc.oneof({ weight: 3, arbitrary: fc.constant(value) }, { weight: 2, arbitrary: anyField }, { weight: 1, arbitrary: fc.constant(undefined) })]),
  );
  return fc.record(fields);
}

const run = { modelId: 'tiny-test', classIndex: 1, mode: 'conditional', scale: 2, sampler: 'ddim', steps: 'ddim10', eta: 0, clipDenoised: true, seeds: [1, 2], batchSize: 2, provider: 'cpu' };
const evaluation = { modelId: 'tiny-test', classes: [0, 1], scales: [0, 2], mode: 'conditional', sampler: 'ddim', steps: 'ddim10', eta: 0, samplesPerScale: 100 };
const recipe = {
  format: 1, model: { id: 'tiny-test', sha256: 'a'.repeat(64) }, classIndex: 1, className: 'square', mode: 'conditional', scale: 2, sampler: 'ddim',
  steps: 'ddim10', eta: 0, seed: 7, clipDenoised: true, noiseAlgorithm: 'philox4x32-10/box-muller/v1', provider: 'cpu', appVersion: '0.1.0',
};

/** Every string and every list inside an accepted value, with its length, to check the bounds. */
function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const item of value) yield* strings(item);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) yield* strings(item);
}

/** Parses and checks the outcome; returns the accepted value, or null when it was refused. */
function parseChecked(schema: z.ZodType, input: unknown): unknown {
  let parsed: unknown;
  try {
    parsed = schema.parse(input);
  } catch (error) {
    expect(error).toBeInstanceOf(z.ZodError);
    const zodError = error as z.ZodError;
    for (const issue of zodError.issues) expect(issue.message.length).toBeLessThan(LONGEST_SENTENCE);
    expect(describeProblems(zodError).length).toBeLessThan(LONGEST_SENTENCE);
    return null;
  }
  for (const text of strings(parsed)) expect(text.length).toBeLessThanOrEqual(LONGEST_ACCEPTED_TEXT);
  return parsed;
}

const runs = 200;

describe('request schemas against arbitrary input', () => {
  it('every operation request either parses inside the bounds or fails with a short ZodError', () => {
    const schemas = Object.values(studioOperations)
      .map((operation) => operation.request as z.ZodType)
      .filter((schema) => !(schema instanceof z.ZodVoid));
    fc.assert(
      fc.property(fc.constantFrom(...schemas), anyField, (schema, input) => {
        parseChecked(schema, input);
      }),
      { numRuns: runs },
    );
  });

  it('run requests close to a valid one keep the seed and string bounds', () => {
    fc.assert(
      fc.property(nearly(run), (input) => {
        const accepted = parseChecked(RunRequest, input) as RunRequest | null;
        if (accepted === null) return;
        expect(accepted.seeds.length).toBeGreaterThanOrEqual(1);
        expect(accepted.seeds.length).toBeLessThanOrEqual(MAX_SEEDS_PER_RUN);
        expect(accepted.modelId.length).toBeLessThanOrEqual(TEXT_LIMITS.modelId);
        expect(accepted.steps.length).toBeLessThanOrEqual(TEXT_LIMITS.steps);
        expect(accepted.batchSize).toBeLessThanOrEqual(256);
      }),
      { numRuns: runs },
    );
  });

  it('sweeps close to a valid one run at most 16 scales', () => {
    fc.assert(
      fc.property(nearly({ request: run, scales: [0, 1, 2], recordTrajectory: false }), (input) => {
        const accepted = parseChecked(SweepRequest, input) as z.output<typeof SweepRequest> | null;
        if (accepted !== null) expect(accepted.scales.length).toBeLessThanOrEqual(MAX_SWEEP_SCALES);
      }),
      { numRuns: runs },
    );
  });

  it('evaluation specs close to a valid one keep their size bounds', () => {
    fc.assert(
      fc.property(nearly(evaluation), (input) => {
        const accepted = parseChecked(EvaluationSpec, input) as EvaluationSpec | null;
        if (accepted === null) return;
        expect(accepted.samplesPerScale).toBeLessThanOrEqual(MAX_EVALUATION_SAMPLES_PER_SCALE);
        expect(accepted.scales.length).toBeLessThanOrEqual(MAX_EVALUATION_SCALES);
        expect(accepted.classes.length).toBeLessThanOrEqual(MAX_EVALUATION_CLASSES);
        expect(new Set(accepted.classes).size).toBe(accepted.classes.length);
      }),
      { numRuns: runs },
    );
  });

  it('sample edits and gallery queries close to valid ones keep their text bounds', () => {
    const edits = fc.oneof(
      nearly({ kind: 'tag', sampleId: 1, tag: 'kept' }),
      nearly({ kind: 'untag', sampleId: 1, tag: 'kept' }),
      nearly({ kind: 'notes', sampleId: 1, notes: 'a note' }),
      nearly({ kind: 'favorite', sampleId: 1, favorite: true }),
    );
    fc.assert(
      fc.property(edits, nearly({ modelId: 'tiny-test', tag: 'kept', notesText: 'find', limit: 10 }), (edit, query) => {
        const accepted = parseChecked(SampleEdit, edit) as SampleEdit | null;
        if (accepted?.kind === 'tag' || accepted?.kind === 'untag') expect(accepted.tag.length).toBeLessThanOrEqual(TEXT_LIMITS.tag);
        const found = parseChecked(SampleQuery, query) as z.output<typeof SampleQuery> | null;
        if (found?.notesText !== undefined) expect(found.notesText.length).toBeLessThanOrEqual(TEXT_LIMITS.notesSearch);
      }),
      { numRuns: runs },
    );
  });

  it('recipes close to a valid one keep every string short', () => {
    fc.assert(
      fc.property(nearly(recipe), (input) => {
        const accepted = parseChecked(Recipe, input) as Recipe | null;
        if (accepted === null) return;
        for (const text of strings(accepted)) expect(text.length).toBeLessThanOrEqual(TEXT_LIMITS.modelId);
      }),
      { numRuns: runs },
    );
  });
});
