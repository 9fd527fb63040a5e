/**
 * Golden trajectories of runs whose settings switch part way (the PyTorch reference sampler,
 * models/tools studio_tools.fixtures, cases with a `switch`): a class switch at step k (the UNet's
 * label and the classifier's), a sampler switch from DDPM to DDIM, and one from DDIM to
 * DPM-Solver++(2M) with a scale switch. Every step's xₜ must match within 1e-4 of the step's
 * magnitude, through the samplers' `start` and through the engine's `switchAt` request.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuidanceMode, RunRequest } from '../../../common/contract/run-request';
import { spacedDiffusion } from '../../../common/diffusion/respace';
import { replayedNoise } from '../../../common/diffusion/rng';
import type { Guidance, SamplerStep } from '../../../common/diffusion/sampler';
import { samplers, type SamplerKind } from '../../../common/diffusion/samplers';
import type { NoiseScheduleName } from '../../../common/diffusion/schedule';
import { switchedSampling } from '../../../common/diffusion/switched-sampling';
import { decodeNpyFloat32 } from '../../../common/npy';
import { createEngine } from '../../../electron/inference';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { classifierGradient, emptyTimings, unetDenoiser } from '../../../electron/inference/networks';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = path.join(REPO, 'test/fixtures/tiny-model');
const GOLDEN = path.join(REPO, 'test/fixtures/golden');
const TOLERANCE = 1e-4;

interface SwitchCase {
  sampler: SamplerKind;
  steps: string;
  eta: number;
  scale: number;
  mode: GuidanceMode;
  schedule: NoiseScheduleName;
  T: number;
  clip_denoised: boolean;
  classes: number[];
  timestep_map: number[];
  switch: { step: number; classes?: number[]; sampler?: SamplerKind; scale?: number };
}

const read = (folder: string, name: string): Float32Array => decodeNpyFloat32(readFileSync(path.join(folder, name))).data;

const caseNames = readdirSync(GOLDEN)
  .filter((name) => existsSync(path.join(GOLDEN, name, 'case.json')) && 'switch' in (JSON.parse(readFileSync(path.join(GOLDEN, name, 'case.json'), 'utf8')) as object))
  .sort();

function readCase(name: string): { spec: SwitchCase; xT: Float32Array; noise: Float32Array; xt: Float32Array } {
  const folder = path.join(GOLDEN, name);
  return {
    spec: JSON.parse(readFileSync(path.join(folder, 'case.json'), 'utf8')) as SwitchCase,
    xT: read(folder, 'x_T.npy'),
    noise: read(folder, 'noise.npy'),
    xt: read(folder, 'xt.npy'),
  };
}

/** Worst |actual − expected| / max(1, max|expected|) of one step. */
function stepError(actual: Float32Array, expected: Float32Array): number {
  let magnitude = 1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i] as number));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst / magnitude;
}

describe('golden trajectories with a switch part way (tiny ADM UNet + classifier)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(MODEL, 'cpu', 1);
  });
  afterAll(() => releaseModel(model));

  it('has its switch cases: a class switch and two sampler switches', () => {
    expect(caseNames.length, 'create them with: .venv/bin/python -m studio_tools.fixtures --out test/fixtures --missing-cases-only').toBeGreaterThanOrEqual(3);
    const switches = caseNames.map((name) => readCase(name).spec.switch);
    expect(switches.some((change) => change.classes !== undefined)).toBe(true);
    expect(switches.filter((change) => change.sampler !== undefined).map((change) => change.sampler)).toEqual(expect.arrayContaining(['ddim', 'dpmpp2m']));
  });

  it.each(caseNames)('%s: the samplers continued from step k match every step within 1e-4', async (name) => {
    const { spec, xT, noise, xt } = readCase(name);
    const manifest = model.folder.manifest;
    const diffusion = spacedDiffusion(spec.schedule, spec.T, spec.steps);
    expect([...diffusion.timestepMap]).toEqual(spec.timestep_map);
    const batch = spec.classes.length;
    const geometry = { batch, channels: manifest.image.channels, size: manifest.image.size };
    const shape = { batch, channels: geometry.channels, height: geometry.size, width: geometry.size };
    const timings = emptyTimings();
    const nullClass = manifest.classes.null_class as number;
    const phase = (classes: number[], scale: number): { denoise: ReturnType<typeof unetDenoiser>; guidance: Guidance | null } => ({
      denoise: unetDenoiser(model.unet.session, manifest, geometry, spec.mode === 'unconditional+classifier' ? classes.map(() => nullClass) : classes, timings),
      guidance: spec.mode === 'conditional' || model.classifier === null ? null : { gradient: classifierGradient(model.classifier.session, manifest, geometry, classes, timings), scale },
    });
    const shared = { diffusion, shape, variance: 'learned-range' as const, clipDenoised: spec.clip_denoised, eta: spec.eta, noise: replayedNoise(xT, noise) };
    const before = phase(spec.classes, spec.scale);
    const after = phase(spec.switch.classes ?? spec.classes, spec.switch.scale ?? spec.scale);
    const steps: SamplerStep[] = [];
    for await (const step of switchedSampling(
      { sampler: samplers[spec.sampler], input: { ...shared, ...before } },
      { step: spec.switch.step, sampler: samplers[spec.switch.sampler ?? spec.sampler], input: { ...shared, ...after } },
    )) {
      steps.push({ ...step, xt: step.xt.slice() });
    }
    expect(steps.map((step) => step.step)).toEqual(spec.timestep_map.map((_, step) => step));
    const perStep = batch * geometry.channels * geometry.size ** 2;
    const errors = steps.map((step) => stepError(step.xt, xt.subarray(step.step * perStep, (step.step + 1) * perStep)));
    const worst = Math.max(...errors);
    expect(worst, `worst xₜ error ${worst.toExponential(2)} at step ${errors.indexOf(worst)}`).toBeLessThan(TOLERANCE);
  });

  it.each(caseNames)('%s: the engine draws the same trajectory from a switchAt request', async (name) => {
    const { spec, xT, noise, xt } = readCase(name);
    const manifest = model.folder.manifest;
    expect(spec.schedule === manifest.diffusion.noise_schedule && spec.T === manifest.diffusion.steps, 'switch cases use the manifest schedule').toBe(true);
    const engine = createEngine({ modelFolders: [MODEL], threads: 1 });
    try {
      const request: RunRequest = {
        modelId: manifest.id,
        classIndex: spec.classes[0] as number,
        mode: spec.mode,
        scale: spec.scale,
        sampler: spec.sampler,
        steps: spec.steps,
        eta: spec.eta,
        clipDenoised: spec.clip_denoised,
        seeds: spec.classes.map(() => 0),
        batchSize: spec.classes.length,
        provider: 'cpu',
        switchAt: {
          step: spec.switch.step,
          ...(spec.switch.classes === undefined ? {} : { classIndex: spec.switch.classes[0] as number }),
          ...(spec.switch.sampler === undefined ? {} : { sampler: spec.switch.sampler }),
          ...(spec.switch.scale === undefined ? {} : { scale: spec.switch.scale }),
        },
      };
      const result = await engine.sample(request, { trajectory: true, noise: { initial: xT, steps: noise } });
      const perSample = manifest.image.channels * manifest.image.size ** 2;
      const batch = spec.classes.length;
      for (const sample of result.samples) {
        expect(sample.classIndex).toBe(spec.switch.classes?.[0] ?? spec.classes[0]);
        for (let step = 0; step < spec.timestep_map.length; step++) {
          const expected = xt.subarray((step * batch + sample.index) * perSample, (step * batch + sample.index + 1) * perSample);
          const actual = (sample.trajectory?.xt as Float32Array).subarray(step * perSample, (step + 1) * perSample);
          expect(stepError(actual, expected), `sample ${sample.index}, step ${step}`).toBeLessThan(TOLERANCE);
        }
      }
    } finally {
      await engine.close();
    }
  });
});
