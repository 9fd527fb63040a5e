/**
 * Classifier-free guidance, DPM-Solver++(2M) and guidance schedules through `engine.sample`, the
 * path every run takes, against the PyTorch reference's golden trajectories (test/fixtures/golden).
 * A golden case holds two samples of different classes while a request has one class, so each
 * sample is drawn by its own request on that sample's replayed noise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuidanceMode, GuidanceScheduleSetting, RunRequest, SamplerName } from '../../../common/contract/run-request';
import { decodeNpyFloat32 } from '../../../common/npy';
import { createEngine, type Engine } from '../../../electron/inference';

const REPO = path.resolve(import.meta.dirname, '../../..');
const MODEL = path.join(REPO, 'test/fixtures/tiny-model');
const GOLDEN = path.join(REPO, 'test/fixtures/golden');
const TOLERANCE = 1e-4;
const PER_SAMPLE = 8 * 8;

interface GoldenCase {
  sampler: SamplerName;
  steps: string;
  eta: number;
  scale: number;
  mode: GuidanceMode;
  clip_denoised: boolean;
  classes: number[];
  timestep_map: number[];
  cfg_scale?: number;
  guidance_schedule?: GuidanceScheduleSetting;
}

const read = (name: string, file: string): Float32Array => decodeNpyFloat32(readFileSync(path.join(GOLDEN, name, file))).data;

/** Row `sample` of every [block, batch, …] block: one sample's own x_T, noises or trajectory. */
function rowOf(values: Float32Array, batch: number, sample: number): Float32Array {
  const blocks = values.length / (batch * PER_SAMPLE);
  const out = new Float32Array(blocks * PER_SAMPLE);
  for (let block = 0; block < blocks; block++) out.set(values.subarray((block * batch + sample) * PER_SAMPLE, (block * batch + sample + 1) * PER_SAMPLE), block * PER_SAMPLE);
  return out;
}

/** Worst |actual − expected| / max(1, max|expected|) over one step's values. */
function stepError(actual: Float32Array, expected: Float32Array): number {
  let magnitude = 1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i] as number));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst / magnitude;
}

/** The golden case's mode as a request says it: a cfg_scale turns the conditional modes classifier-free. */
function requestMode(spec: GoldenCase): GuidanceMode {
  if (spec.cfg_scale === undefined) return spec.mode;
  return spec.mode === 'conditional+classifier' ? 'classifier-free+classifier' : 'classifier-free';
}

let engine: Engine;
beforeAll(() => {
  engine = createEngine({ modelFolders: [MODEL], threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

describe('the guidance lab through engine.sample, against the PyTorch reference', () => {
  it.each([
    ['classifier-free guidance alone (DDPM, w = 3)', 'ddpm-cosine-10-cfg3-conditional'],
    ['classifier-free guidance with the classifier (DDIM η = 0.5, w = 2, s = 3)', 'ddim-cosine-ddim10-eta05-cfg2-conditional-classifier'],
    ['DPM-Solver++(2M), conditional', 'dpmpp2m-cosine-ddim10-conditional'],
    ['DPM-Solver++(2M) with classifier-free guidance and the classifier', 'dpmpp2m-cosine-ddim20-cfg2-conditional-classifier'],
    ['a ramp schedule (DDPM, 1.5 → 0)', 'ddpm-cosine-10-ramp-conditional-classifier'],
    ['an interval schedule (DDIM, t in [20, 70])', 'ddim-cosine-ddim10-eta0-interval-unconditional-classifier'],
    ['DPM-Solver++(2M) with an interval schedule', 'dpmpp2m-cosine-ddim15-interval-unconditional-classifier'],
  ])('%s: every step of every sample within 1e-4', async (_title, name) => {
    const spec = JSON.parse(readFileSync(path.join(GOLDEN, name, 'case.json'), 'utf8')) as GoldenCase;
    const [xT, noise, xt] = [read(name, 'x_T.npy'), read(name, 'noise.npy'), read(name, 'xt.npy')];
    const batch = spec.classes.length;
    const stepCount = spec.timestep_map.length;
    for (const [sample, classIndex] of spec.classes.entries()) {
      const request: RunRequest = {
        modelId: 'tiny-test',
        classIndex,
        mode: requestMode(spec),
        scale: spec.scale,
        sampler: spec.sampler,
        steps: spec.steps,
        eta: spec.eta,
        clipDenoised: spec.clip_denoised,
        seeds: [0],
        batchSize: 1,
        provider: 'cpu',
        ...(spec.cfg_scale === undefined ? {} : { cfgScale: spec.cfg_scale }),
        ...(spec.guidance_schedule === undefined ? {} : { guidanceSchedule: spec.guidance_schedule }),
      };
      const result = await engine.sample(request, { trajectory: true, noise: { initial: rowOf(xT, batch, sample), steps: rowOf(noise, batch, sample) } });
      const drawn = result.samples[0]?.trajectory?.xt as Float32Array;
      const expected = rowOf(xt, batch, sample);
      for (let step = 0; step < stepCount; step++) {
        const rows = [step * PER_SAMPLE, (step + 1) * PER_SAMPLE] as const;
        expect(stepError(drawn.subarray(...rows), expected.subarray(...rows)), `${name}: sample ${sample}, step ${step}`).toBeLessThan(TOLERANCE);
      }
      // The sample's confidence p(y|x₀) comes from the classifier whenever one guides, even where the
      // schedule left the last step out.
      if (request.mode.endsWith('classifier')) {
        expect(result.samples[0]?.classProbability).toBeGreaterThan(0);
        expect(result.samples[0]?.classProbability).toBeLessThanOrEqual(1);
      } else {
        expect(result.samples[0]?.classProbability).toBeNull();
      }
    }
  });

  it('gives an interval that leaves out t = 0 the classifier\'s p(y|x₀) on the finished image, as at scale 0', async () => {
    const base: RunRequest = {
      modelId: 'tiny-test', classIndex: 2, mode: 'unconditional+classifier', scale: 5, sampler: 'ddim', steps: 'ddim10', eta: 0, clipDenoised: true,
      seeds: [4, 5], batchSize: 2, provider: 'cpu',
    };
    const interval = await engine.sample({ ...base, guidanceSchedule: { kind: 'interval', tLo: 95, tHi: 99 } });
    const constant = await engine.sample({ ...base, guidanceSchedule: { kind: 'interval', tLo: 90, tHi: 99 } });
    // The interval [95, 99] holds no step of ddim10 (t = 0, 10, …, 90), so the run is unguided and
    // its confidence is what a run at scale 0, whose last step asks the classifier, reports.
    const unguided = await engine.sample({ ...base, scale: 0 });
    expect(interval.samples.map((sample) => sample.classProbability)).toEqual(unguided.samples.map((sample) => sample.classProbability));
    expect(interval.samples.map((sample) => [...sample.image])).toEqual(unguided.samples.map((sample) => [...sample.image]));
    expect(constant.samples.map((sample) => [...sample.image])).not.toEqual(unguided.samples.map((sample) => [...sample.image]));
  });
});
