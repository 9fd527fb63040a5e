/**
 * The planner's reading of a switch part way through a run (switchAt): what it plans for the
 * later steps, and the sentence of every switch it refuses. The CLI, the page, recipe imports
 * and forks all plan through planRun, so these sentences are what each of them shows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunRequest } from '../../common/contract/run-request';
import { ModelManifest } from '../../common/models/manifest';
import { planRun, RunRequestError, type PlannedSettings } from '../../common/models/run-plan';

const readManifest = (folder: string): ModelManifest => ModelManifest.parse(JSON.parse(readFileSync(path.join(import.meta.dirname, folder, 'manifest.json'), 'utf8')));
const builtIn = readManifest('../../models/fashion-mnist');
const tiny = readManifest('../fixtures/tiny-model');
const withoutClassifier: ModelManifest = { ...tiny, name: 'No-classifier model', classifier: null };

const settings = (overrides: Partial<PlannedSettings>): PlannedSettings => ({
  classIndex: 1,
  mode: 'conditional+classifier',
  scale: 2,
  sampler: 'ddim',
  steps: 'ddim10',
  eta: 0,
  seeds: [0],
  ...overrides,
});

const refusalOf = (manifest: ModelManifest, overrides: Partial<PlannedSettings>): string => {
  try {
    planRun(manifest, settings(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(RunRequestError);
    return (error as Error).message;
  }
  throw new Error('planRun accepted the switch');
};

describe('a planned switch', () => {
  it('switches the class of both the UNet and the classifier in a conditional+classifier run', () => {
    const plan = planRun(tiny, settings({ switchAt: { step: 4, classIndex: 2 } }));
    expect(plan.unetLabel).toBe(1);
    expect(plan.guidanceLabel).toBe(1);
    expect(plan.switchAt).toMatchObject({ step: 4, classIndex: 2, unetLabel: 2, guidanceLabel: 2, sampler: 'ddim', scale: 2 });
  });

  it('keeps the null class on the UNet of an unconditional+classifier run and switches the classifier label', () => {
    const plan = planRun(tiny, settings({ mode: 'unconditional+classifier', switchAt: { step: 2, classIndex: 0, scale: 6 } }));
    expect(plan.switchAt).toMatchObject({ unetLabel: 3, guidanceLabel: 0, scale: 6 });
  });

  it('switches the class and the weight of classifier-free guidance', () => {
    const plan = planRun(tiny, settings({ mode: 'classifier-free', cfgScale: 2, switchAt: { step: 5, classIndex: 0, cfgScale: 4 } }));
    expect(plan.classifierFree).toEqual({ label: 1, nullClass: 3, weight: 2 });
    expect(plan.switchAt?.classifierFree).toEqual({ label: 0, nullClass: 3, weight: 4 });
  });

  it('keeps the spacing for a sampler switch, and takes the switched schedule and η', () => {
    const plan = planRun(tiny, settings({ sampler: 'ddpm', steps: '10', switchAt: { step: 5, sampler: 'ddim', eta: 0.5, guidanceSchedule: { kind: 'interval', tLo: 0, tHi: 40 } } }));
    expect(plan.diffusion.timestepMap.length).toBe(10);
    expect(plan.switchAt).toMatchObject({ sampler: 'ddim', eta: 0.5, guidanceSchedule: { kind: 'interval', tLo: 0, tHi: 40 } });
  });

  it('leaves a run without a switch as it was', () => {
    expect(planRun(tiny, settings({})).switchAt).toBeNull();
  });

  it('accepts DDIM after a DDPM start on a plain spacing, where the first-step check alone would refuse it', () => {
    // DDIM guided from t = 999 saturates; from step 25 (t ≈ 500) it does not.
    expect(refusalOf(builtIn, { sampler: 'ddim', steps: '50' })).toContain("use 'ddim50'");
    expect(planRun(builtIn, settings({ sampler: 'ddpm', steps: '50', switchAt: { step: 25, sampler: 'ddim' } })).switchAt?.sampler).toBe('ddim');
  });
});

describe('refused switches', () => {
  it.each([
    [0, 'The switch at step 0 is outside this run: with 10 steps it must be from 1 to 9 (step 0 always uses the run\'s own settings).'],
    [10, 'The switch at step 10 is outside this run: with 10 steps it must be from 1 to 9 (step 0 always uses the run\'s own settings).'],
  ])('refuses step %i of a 10-step run', (step, sentence) => {
    expect(refusalOf(tiny, { switchAt: { step, classIndex: 2 } })).toBe(sentence);
  });

  it('refuses any switch in a one-step run', () => {
    expect(refusalOf(tiny, { steps: '1', switchAt: { step: 1, classIndex: 2 } })).toBe('A run of 1 step cannot switch settings part way; take more steps or leave the switch out.');
  });

  it('refuses a class the model does not have', () => {
    expect(refusalOf(tiny, { switchAt: { step: 3, classIndex: 3 } })).toBe('The switch at step 3 names class 3, but "Tiny test model (random weights)" has classes 0 to 2.');
  });

  it('refuses a switch that changes nothing', () => {
    expect(refusalOf(tiny, { switchAt: { step: 3 } })).toBe('The switch at step 3 changes nothing; give it a class, a scale, a schedule, a sampler, a classifier-free weight or η.');
  });

  it('refuses a classifier scale switch in a mode without the classifier', () => {
    expect(refusalOf(tiny, { mode: 'conditional', switchAt: { step: 3, scale: 5 } })).toBe(
      'The switch at step 3 changes the classifier scale, but the mode "conditional" runs no classifier (and "Tiny test model (random weights)" has one only for the classifier modes); pick a mode with "+classifier" or leave the scale out.',
    );
    expect(refusalOf(withoutClassifier, { mode: 'conditional', switchAt: { step: 3, guidanceSchedule: { kind: 'ramp', from: 1, to: 0 } } })).toBe(
      'The switch at step 3 changes the classifier scale, but the mode "conditional" runs no classifier (and "No-classifier model" has none); pick a mode with "+classifier" or leave the scale out.',
    );
  });

  it('refuses a classifier-free weight switch in a mode without the null class', () => {
    expect(refusalOf(tiny, { switchAt: { step: 3, cfgScale: 3 } })).toBe(
      'The switch at step 3 changes the classifier-free weight, but the mode "conditional+classifier" does not mix in the null class; use a "classifier-free" mode or leave the weight out.',
    );
  });

  it('refuses a switched schedule the process cannot use, naming the switch', () => {
    expect(refusalOf(tiny, { switchAt: { step: 3, guidanceSchedule: { kind: 'interval', tLo: 50, tHi: 20 } } })).toMatch(/^After the switch at step 3: /);
  });

  it('refuses a switch to DDIM where ᾱ at the switch step saturates guidance', () => {
    expect(refusalOf(builtIn, { sampler: 'ddpm', steps: '1000', switchAt: { step: 1, sampler: 'ddim' } })).toBe(
      'The switch to DDIM at step 1 starts at t = 998 where ᾱ = 2.4e-6, so classifier guidance saturates there; switch at a later step.',
    );
  });
});

describe('the switch in the contract', () => {
  const base = { modelId: 'tiny-test', classIndex: 0, mode: 'conditional+classifier', scale: 1, sampler: 'ddim', steps: 'ddim10', seeds: [1] };

  it('refuses a fractional or negative switch step with the bound', () => {
    const problems = RunRequest.safeParse({ ...base, switchAt: { step: 2.5, classIndex: 1 } });
    expect(problems.success).toBe(false);
    expect(problems.error?.issues[0]?.message).toBe('the switch step must be a whole number from 1 to 100,000 (got 2.50)');
    expect(RunRequest.safeParse({ ...base, switchAt: { step: 3, scale: -1 } }).error?.issues[0]?.message).toBe('the switched guidance scale must be 0 or more');
    expect(RunRequest.safeParse({ ...base, switchAt: { step: 3, sampler: 'euler' } }).success).toBe(false);
  });

  it('keeps forkOf and comparedWith through parsing', () => {
    const parsed = RunRequest.parse({ ...base, switchAt: { step: 3, classIndex: 1 }, forkOf: { sampleId: 7, step: 3 }, comparedWith: { sampleId: 7, setting: 'scale' } });
    expect(parsed.forkOf).toEqual({ sampleId: 7, step: 3 });
    expect(parsed.comparedWith).toEqual({ sampleId: 7, setting: 'scale' });
  });
});
