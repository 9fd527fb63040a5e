/**
 * The planner's guidance refusals: DDIM classifier guidance that would start where ᾱ saturates it,
 * classifier-free modes on a UNet without a null class, and guidance schedules no run can use.
 * Every entry point (UI, CLI, recipe import, evaluations) plans through planRun, so these
 * sentences are what each of them shows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuidanceMode, RunRequest } from '../../common/contract/run-request';
import { ModelManifest } from '../../common/models/manifest';
import { allowedModes, guidanceStartRefusal, planRun, RunRequestError, type PlannedSettings } from '../../common/models/run-plan';

const readManifest = (folder: string): ModelManifest => ModelManifest.parse(JSON.parse(readFileSync(path.join(import.meta.dirname, folder, 'manifest.json'), 'utf8')));
const builtIn = readManifest('../../models/fashion-mnist');
const tiny = readManifest('../fixtures/tiny-model');
const withoutNullClass: ModelManifest = { ...tiny, name: 'No-null model', classes: { ...tiny.classes, null_class: null } };

const settings = (overrides: Partial<PlannedSettings>): PlannedSettings => ({
  classIndex: 1,
  mode: 'conditional+classifier',
  scale: 2,
  sampler: 'ddim',
  steps: 'ddim50',
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
  throw new Error('planRun accepted the settings');
};

describe('the DDIM guidance trap', () => {
  it.each(['conditional+classifier', 'unconditional+classifier', 'classifier-free+classifier'] as const)('refuses plain "50" with DDIM in mode %s, naming t, ᾱ and ddim50', (mode) => {
    expect(refusalOf(builtIn, { mode, steps: '50' })).toBe(
      "DDIM with plain respacing '50' starts at t = 999 where ᾱ = 2.4e-9, so classifier guidance is amplified ~20,000× and saturates; use 'ddim50'.",
    );
  });

  it('plans the spacing it suggests, and plain "50" without a classifier or with DDPM', () => {
    expect(planRun(builtIn, settings({ steps: 'ddim50' })).diffusion.timestepMap.length).toBe(50);
    expect(planRun(builtIn, settings({ steps: '50', mode: 'conditional' })).guidanceLabel).toBeNull();
    expect(planRun(builtIn, settings({ steps: '50', sampler: 'ddpm' })).guidanceLabel).toBe(1);
  });

  it('lets DPM-Solver++ guide on plain "50" while it clips x̂₀, and refuses it without clipping', () => {
    expect(planRun(builtIn, settings({ steps: '50', sampler: 'dpmpp2m' })).guidanceLabel).toBe(1);
    expect(refusalOf(builtIn, { steps: '50', sampler: 'dpmpp2m', clipDenoised: false })).toMatch(/^DPM-Solver\+\+\(2M\) with plain respacing '50' starts at t = 999 .* use 'ddim50'\.$/);
  });

  it('flags the tiny model\'s plain "10" (T = 100) at t = 99 and names ddim10', () => {
    expect(guidanceStartRefusal(tiny, { mode: 'conditional+classifier', sampler: 'ddim', steps: '10' })).toMatch(/^DDIM with plain respacing '10' starts at t = 99 where .* use 'ddim10'\.$/);
    expect(guidanceStartRefusal(tiny, { mode: 'conditional+classifier', sampler: 'ddim', steps: 'ddim10' })).toBeNull();
  });
});

describe('classifier-free guidance in the planner', () => {
  it('offers the classifier-free modes only where the UNet has a null class', () => {
    expect(allowedModes(tiny)).toEqual(GuidanceMode.options);
    expect(allowedModes(withoutNullClass)).toEqual(['conditional', 'conditional+classifier']);
  });

  it.each(['classifier-free', 'classifier-free+classifier'] as const)('refuses %s on a UNet without a null class', (mode) => {
    expect(refusalOf(withoutNullClass, { mode })).toBe(`The mode "${mode}" needs a UNet trained with a "no class" label, and "No-null model" has none. Use "conditional" or "conditional+classifier".`);
  });

  it('plans y, the null class and w; the classifier guides only in the combined mode', () => {
    const alone = planRun(tiny, settings({ mode: 'classifier-free', cfgScale: 3, classIndex: 2 }));
    expect(alone.classifierFree).toEqual({ label: 2, nullClass: 3, weight: 3 });
    expect(alone.guidanceLabel).toBeNull();
    const combined = planRun(tiny, settings({ mode: 'classifier-free+classifier', classIndex: 0 }));
    expect(combined.classifierFree).toEqual({ label: 0, nullClass: 3, weight: 2 });
    expect(combined.guidanceLabel).toBe(0);
    expect(planRun(tiny, settings({ mode: 'conditional+classifier', cfgScale: 3 })).classifierFree).toBeNull();
  });

  it('refuses a weight outside the contract with its sentence', () => {
    const base = { modelId: 'tiny-test', classIndex: 1, mode: 'classifier-free', scale: 0, sampler: 'ddim', steps: 'ddim10', seeds: [0] };
    expect(RunRequest.safeParse({ ...base, cfgScale: -1 }).error?.issues[0]?.message).toBe('the classifier-free guidance weight must be 0 or more');
    expect(RunRequest.safeParse({ ...base, cfgScale: 101 }).error?.issues[0]?.message).toBe('the classifier-free guidance weight is at most 100');
  });
});

describe('guidance schedules in the planner', () => {
  it('plans constant when none is named, and the named one otherwise', () => {
    expect(planRun(tiny, settings({})).guidanceSchedule).toEqual({ kind: 'constant' });
    expect(planRun(tiny, settings({ guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } })).guidanceSchedule).toEqual({ kind: 'interval', tLo: 20, tHi: 70 });
    expect(planRun(tiny, settings({ guidanceSchedule: { kind: 'ramp', from: 1.5, to: 0 } })).guidanceSchedule).toEqual({ kind: 'ramp', from: 1.5, to: 0 });
  });

  it('refuses an interval past the model\'s timesteps or upside down, with the range it allows', () => {
    expect(refusalOf(tiny, { guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 100 } })).toBe(
      "A guidance interval needs whole timesteps 0 ≤ tLo ≤ tHi ≤ 99, got [20, 100]. Pick the interval inside the model's 100 timesteps.",
    );
    expect(refusalOf(tiny, { guidanceSchedule: { kind: 'interval', tLo: 70, tHi: 20 } })).toMatch(/^A guidance interval needs whole timesteps 0 ≤ tLo ≤ tHi ≤ 99, got \[70, 20\]/);
  });

  it('refuses a schedule the contract cannot read with its sentence', () => {
    const base = { modelId: 'tiny-test', classIndex: 1, mode: 'conditional+classifier', scale: 2, sampler: 'ddim', steps: 'ddim10', seeds: [0] };
    expect(RunRequest.safeParse({ ...base, guidanceSchedule: { kind: 'interval', tLo: 2.5, tHi: 9 } }).error?.issues[0]?.message).toBe('the interval start must be a whole timestep');
    expect(RunRequest.safeParse({ ...base, guidanceSchedule: { kind: 'ramp', from: -1, to: 0 } }).error?.issues[0]?.message).toBe('the ramp start factor must be 0 or more');
    expect(RunRequest.safeParse({ ...base, guidanceSchedule: { kind: 'wave' } }).success).toBe(false);
  });
});
