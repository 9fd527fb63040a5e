/**
 * Golden trajectories from the PyTorch reference sampler: every step's xₜ must match within
 * 1e-4 (relative to the step's magnitude when it exceeds 1, as unclipped random networks grow
 * large), and x̂₀ within 1e-4·√(1/ᾱₜ). Two sets: the model tooling's fixtures (test/fixtures) and reference
 * trajectories of the generated linear-8px test model (test/fixtures/linear-8px-golden/make_reference_trajectories.py).
 * A case may add classifier-free guidance (`cfg_scale`, between its classes and the null class)
 * and a guidance schedule (`guidance_schedule`); DPM-Solver++(2M) cases have sampler "dpmpp2m".
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuidanceMode, RunRequest } from '../../../common/contract/run-request';
import { classifierFreeDenoiser } from '../../../common/diffusion/classifier-free';
import type { GuidanceSchedule } from '../../../common/diffusion/guidance-schedule';
import { spacedDiffusion } from '../../../common/diffusion/respace';
import { replayedNoise } from '../../../common/diffusion/rng';
import type { NoiseScheduleName } from '../../../common/diffusion/schedule';
import type { DenoiseFn, DenoiseWithLabelsFn } from '../../../common/diffusion/sampler';
import { samplers, type SamplerKind } from '../../../common/diffusion/samplers';
import type { ModelManifest } from '../../../common/models/manifest';
import { guidanceStartRefusal } from '../../../common/models/run-plan';
import { decodeNpyFloat32 } from '../../../common/npy';
import { createEngine } from '../../../electron/inference';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { classifierGradient, emptyTimings, unetDenoiser, type RuntimeTimings } from '../../../electron/inference/networks';
import { LINEAR_MODEL } from './test-models';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TOLERANCE = 1e-4;

interface GoldenCase {
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
  /** w of classifier-free guidance; absent in cases without it. */
  cfg_scale?: number;
  /** Absent: constant. */
  guidance_schedule?: GuidanceSchedule;
}

interface GoldenArrays {
  xT: Float32Array;
  noise: Float32Array;
  xt: Float32Array;
  predX0: Float32Array;
}

const suites = [
  {
    name: 'model tooling fixtures (tiny ADM UNet + classifier)',
    model: path.join(REPO, 'test/fixtures/tiny-model'),
    golden: path.join(REPO, 'test/fixtures/golden'),
    howToMake: '.venv/bin/python -m studio_tools.fixtures --out test/fixtures',
  },
  {
    name: 'linear-8px reference trajectories',
    model: LINEAR_MODEL,
    golden: path.join(path.dirname(LINEAR_MODEL), 'linear-8px-golden'),
    howToMake: 'PYTHONPATH=models/tools/src .venv/bin/python test/fixtures/linear-8px-golden/make_reference_trajectories.py',
  },
];

const read = (folder: string, name: string): Float32Array => decodeNpyFloat32(readFileSync(path.join(folder, name))).data;

function readCase(folder: string): { spec: GoldenCase; arrays: GoldenArrays } {
  return {
    spec: JSON.parse(readFileSync(path.join(folder, 'case.json'), 'utf8')) as GoldenCase,
    arrays: { xT: read(folder, 'x_T.npy'), noise: read(folder, 'noise.npy'), xt: read(folder, 'xt.npy'), predX0: read(folder, 'pred_x0.npy') },
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

/** The UNet graph with labels per call, one bound denoiser per label list (the doubled CFG batch has its own). */
function labelledUnet(session: LoadedModel['unet']['session'], manifest: ModelManifest, timings: RuntimeTimings): DenoiseWithLabelsFn {
  const bound = new Map<string, DenoiseFn>();
  return async (xt, t, labels) => {
    const key = labels.join(',');
    let denoise = bound.get(key);
    if (denoise === undefined) {
      denoise = unetDenoiser(session, manifest, { batch: labels.length, channels: manifest.image.channels, size: manifest.image.size }, labels, timings);
      bound.set(key, denoise);
    }
    return denoise(xt, t);
  };
}

/** The cases of one set of settings throughout; those with a switch part way have golden-switch.test.ts. */
function caseNames(golden: string): string[] {
  const hasOneSetting = (name: string): boolean => !('switch' in (JSON.parse(readFileSync(path.join(golden, name, 'case.json'), 'utf8')) as object));
  return existsSync(golden) ? readdirSync(golden).filter((name) => existsSync(path.join(golden, name, 'case.json')) && hasOneSetting(name)).sort() : [];
}

for (const suite of suites) {
  describe(`golden trajectories: ${suite.name}`, () => {
    const cases = caseNames(suite.golden);

    it('has its fixtures', () => {
      expect(existsSync(path.join(suite.model, 'manifest.json')), `The model folder ${path.relative(REPO, suite.model)} is missing; create it with: ${suite.howToMake}`).toBe(true);
      expect(cases.length, `No golden cases in ${path.relative(REPO, suite.golden)}; create them with: ${suite.howToMake}`).toBeGreaterThan(0);
    });
    if (cases.length === 0 || !existsSync(path.join(suite.model, 'manifest.json'))) return;

    let model: LoadedModel;
    beforeAll(async () => {
      model = await loadModel(suite.model, 'cpu', 1);
    });
    afterAll(() => releaseModel(model));

    it.each(cases)('%s: every step matches within 1e-4', async (name) => {
      const { spec, arrays } = readCase(path.join(suite.golden, name));
      const manifest: ModelManifest = model.folder.manifest;
      const diffusion = spacedDiffusion(spec.schedule, spec.T, spec.steps);
      expect([...diffusion.timestepMap]).toEqual(spec.timestep_map);
      const batch = spec.classes.length;
      const geometry = { batch, channels: manifest.image.channels, size: manifest.image.size };
      const perStep = batch * geometry.channels * geometry.size * geometry.size;
      const nullClass = manifest.classes.null_class as number;
      const unetLabels = spec.mode === 'unconditional+classifier' ? spec.classes.map(() => nullClass) : spec.classes;
      const timings = emptyTimings();
      const classifier = model.classifier;
      const guidance =
        spec.mode === 'conditional' || classifier === null
          ? null
          : {
              gradient: classifierGradient(classifier.session, manifest, geometry, spec.classes, timings),
              scale: spec.scale,
              ...(spec.guidance_schedule === undefined ? {} : { schedule: spec.guidance_schedule }),
            };
      const shape = { batch, channels: geometry.channels, height: geometry.size, width: geometry.size };
      const denoise =
        spec.cfg_scale === undefined
          ? unetDenoiser(model.unet.session, manifest, geometry, unetLabels, timings)
          : classifierFreeDenoiser({
              denoise: labelledUnet(model.unet.session, manifest, timings),
              labels: spec.classes,
              nullClass,
              weight: spec.cfg_scale,
              shape,
              learnedSigma: manifest.diffusion.learn_sigma,
            });
      const errors: { step: number; xt: number; predX0: number }[] = [];
      for await (const step of samplers[spec.sampler]({
        diffusion,
        shape,
        denoise,
        variance: manifest.diffusion.learn_sigma ? 'learned-range' : 'fixed-large',
        guidance,
        clipDenoised: spec.clip_denoised,
        eta: spec.eta,
        noise: replayedNoise(arrays.xT, arrays.noise),
      })) {
        const rows = [step.step * perStep, (step.step + 1) * perStep] as const;
        // x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε multiplies the networks' float32 rounding by √(1/ᾱₜ)
        // (up to ~160 at t = 999 of the linear schedule), so its error is measured in those units.
        const amplification = diffusion.sqrtRecipAlphasCumprod[diffusion.betas.length - 1 - step.step] as number;
        errors.push({
          step: step.step,
          xt: stepError(step.xt, arrays.xt.subarray(...rows)),
          predX0: stepError(step.predX0, arrays.predX0.subarray(...rows)) / amplification,
        });
      }
      expect(errors).toHaveLength(spec.timestep_map.length);
      const worstXt = errors.reduce((a, b) => (b.xt > a.xt ? b : a));
      const worstPredX0 = errors.reduce((a, b) => (b.predX0 > a.predX0 ? b : a));
      expect(worstXt.xt, `worst xₜ error ${worstXt.xt.toExponential(2)} at step ${worstXt.step}`).toBeLessThan(TOLERANCE);
      expect(worstPredX0.predX0, `worst x̂₀ error ${worstPredX0.predX0.toExponential(2)}·√(1/ᾱₜ) at step ${worstPredX0.step}`).toBeLessThan(TOLERANCE);
    });

    it('gives the same trajectory through the engine and its worker', async () => {
      const manifest = model.folder.manifest;
      // A case the engine can express: the manifest's schedule and T, one class for the whole batch.
      const name = cases.find((candidate) => {
        const { spec } = readCase(path.join(suite.golden, candidate));
        // Cases of classifier guidance that saturates from its first step are refused by the planner.
        const requestCanSayIt =
          (spec.sampler === 'ddpm' || spec.sampler === 'ddim') && spec.cfg_scale === undefined && spec.guidance_schedule === undefined && guidanceStartRefusal(manifest, spec) === null;
        return requestCanSayIt && spec.schedule === manifest.diffusion.noise_schedule && spec.T === manifest.diffusion.steps && spec.classes.every((c) => c === spec.classes[0]);
      });
      expect(name, 'no golden case uses the manifest schedule with one class').toBeDefined();
      const { spec, arrays } = readCase(path.join(suite.golden, name as string));
      const engine = createEngine({ modelFolders: [suite.model], threads: 1 });
      try {
        const request: RunRequest = {
          modelId: manifest.id,
          classIndex: spec.classes[0] as number,
          mode: spec.mode,
          scale: spec.scale,
          sampler: spec.sampler as RunRequest['sampler'],
          steps: spec.steps,
          eta: spec.eta,
          clipDenoised: spec.clip_denoised,
          seeds: spec.classes.map(() => 0),
          batchSize: spec.classes.length,
          provider: 'cpu',
        };
        const result = await engine.sample(request, { trajectory: true, noise: { initial: arrays.xT, steps: arrays.noise } });
        const perSample = manifest.image.channels * manifest.image.size ** 2;
        const stepCount = spec.timestep_map.length;
        for (const sample of result.samples) {
          for (let step = 0; step < stepCount; step++) {
            const expected = arrays.xt.subarray((step * spec.classes.length + sample.index) * perSample, (step * spec.classes.length + sample.index + 1) * perSample);
            const actual = (sample.trajectory?.xt as Float32Array).subarray(step * perSample, (step + 1) * perSample);
            expect(stepError(actual, expected), `${name}: sample ${sample.index}, step ${step}`).toBeLessThan(TOLERANCE);
          }
        }
      } finally {
        await engine.close();
      }
    });
  });
}
