/**
 * The step graphs through onnxruntime-node on the CPU provider against the TypeScript samplers:
 * every step of whole DDIM 50 and DDPM runs of the tiny model is recorded (xₜ, the UNet output,
 * the classifier gradient, the noise, and the sampler's x_{t−1} and x̂₀), then fed to the graph.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { scaleAt } from '../../../common/diffusion/guidance-schedule';
import { respacedIndex } from '../../../common/diffusion/reverse-step';
import { seededNoise, type NoiseSource } from '../../../common/diffusion/rng';
import type { ClassifierGradientFn, DenoiseFn, VarianceType } from '../../../common/diffusion/sampler';
import { samplers } from '../../../common/diffusion/samplers';
import { planRun, type RunPlan } from '../../../common/models/run-plan';
import { DeviceStepGraph, ddimStepCoefficients, ddpmStepCoefficients, stepGraphFor, type StepSampler } from '../../../electron/inference/device-step-graphs';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { classifierGradient, emptyTimings, unetDenoiser } from '../../../electron/inference/networks';
import { ort } from '../../../electron/inference/sessions';
import { readBackGraphFile, sourceStepGraphsDir, stepGraphFile, type StepGraphArithmetic } from '../../../electron/inference/step-graph-files';

const TINY_MODEL = path.resolve(import.meta.dirname, '../../fixtures/tiny-model');
const BATCH = 2;

interface RecordedStep {
  index: number;
  x: Float32Array;
  modelOutput: Float32Array;
  grad: Float32Array | null;
  noise: Float32Array | null;
  scale: number;
  xNext: Float32Array;
  predX0: Float32Array;
  gradNorm: Float32Array | null;
}

let model: LoadedModel;
beforeAll(async () => {
  model = await loadModel(TINY_MODEL, 'cpu', 1);
});
afterAll(() => releaseModel(model));

function tinyRequest(overrides: Partial<RunRequest>): RunRequest {
  return {
    modelId: 'tiny-test',
    classIndex: 2,
    mode: 'unconditional+classifier',
    scale: 3,
    sampler: 'ddim',
    steps: 'ddim50',
    eta: 0,
    clipDenoised: true,
    seeds: [11, 12],
    batchSize: BATCH,
    provider: 'cpu',
    ...overrides,
  };
}

/** Runs the TypeScript sampler on the tiny model's real graphs and keeps every step's inputs and outputs. */
async function recordedRun(request: RunRequest, variance?: VarianceType): Promise<{ plan: RunPlan; variance: VarianceType; steps: RecordedStep[] }> {
  const { manifest } = model.folder;
  const plan = planRun(manifest, request);
  const geometry = { batch: BATCH, channels: plan.channels, size: plan.size };
  const perSample = plan.channels * plan.size * plan.size;
  const timings = emptyTimings();
  const unet = unetDenoiser(model.unet.session, manifest, geometry, plan.unetLabel === null ? null : [plan.unetLabel, plan.unetLabel], timings);
  const classifier = model.classifier;
  if (classifier === null || plan.guidanceLabel === null) throw new Error('The tiny model guides with its classifier.');
  const gradient = classifierGradient(classifier.session, manifest, geometry, [plan.guidanceLabel, plan.guidanceLabel], timings);
  const inputs: { x: Float32Array; modelOutput: Float32Array }[] = [];
  const grads = new Map<number, Float32Array>();
  const noises = new Map<number, Float32Array>();
  // A fixed-variance run takes only ε of the learned-range UNet.
  const fixed = variance !== undefined && variance !== 'learned-range';
  const denoise: DenoiseFn = async (xt, t) => {
    const output = await unet(xt, t);
    const modelOutput = fixed ? epsChannels(output, perSample) : output.slice();
    inputs.push({ x: xt.slice(), modelOutput });
    return modelOutput;
  };
  const recordedGradient: ClassifierGradientFn = async (xt, t) => {
    const result = await gradient(xt, t);
    grads.set(t, result.grad.slice());
    return result;
  };
  const seeded = seededNoise(request.seeds, null);
  const noise: NoiseSource = {
    initial: (target) => seeded.initial(target),
    step(target, step) {
      seeded.step(target, step);
      noises.set(step, target.slice());
    },
  };
  const usedVariance = variance ?? plan.variance;
  const steps: RecordedStep[] = [];
  const schedule = plan.guidanceSchedule;
  for await (const step of samplers[request.sampler]({
    diffusion: plan.diffusion,
    shape: { batch: BATCH, channels: plan.channels, height: plan.size, width: plan.size },
    denoise,
    variance: usedVariance,
    guidance: { gradient: recordedGradient, scale: request.scale, ...(schedule.kind === 'constant' ? {} : { schedule }) },
    clipDenoised: request.clipDenoised,
    eta: request.eta,
    noise,
  })) {
    const recorded = inputs[step.step];
    if (recorded === undefined) throw new Error(`Step ${step.step} ran no UNet.`);
    const grad = grads.get(step.t) ?? null;
    steps.push({
      index: respacedIndex(plan.diffusion, step.step),
      ...recorded,
      grad,
      noise: noises.get(step.step) ?? null,
      scale: grad === null ? 0 : scaleAt(schedule, request.scale, step.t, plan.diffusion.originalSteps),
      xNext: step.xt.slice(),
      predX0: step.predX0.slice(),
      gradNorm: step.gradNorm?.slice() ?? null,
    });
  }
  return { plan, variance: usedVariance, steps };
}

function epsChannels(output: Float32Array, perSample: number): Float32Array {
  const eps = new Float32Array(BATCH * perSample);
  for (let sample = 0; sample < BATCH; sample++) eps.set(output.subarray(2 * sample * perSample, (2 * sample + 1) * perSample), sample * perSample);
  return eps;
}

/** max |a − b| over max |b|: the error relative to the step's own scale. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return difference / scale;
}

/** Feeds every recorded step to the step graph and returns the worst relative error of x_{t−1} and x̂₀. */
async function worstStepErrors(
  sampler: StepSampler,
  run: Awaited<ReturnType<typeof recordedRun>>,
  eta: number,
  arithmetic: StepGraphArithmetic = 'float64',
): Promise<{ xNext: number; predX0: number; gradNorm: number; steps: number }> {
  const { plan, variance, steps } = run;
  const graph = await DeviceStepGraph.open(stepGraphFor(sampler, variance), 'cpu', 1, arithmetic);
  const dims = [BATCH, plan.channels, plan.size, plan.size];
  const image = (values: Float32Array): ort.Tensor => new ort.Tensor('float32', values, dims);
  const zeros = new Float32Array(BATCH * plan.channels * plan.size * plan.size);
  const worst = { xNext: 0, predX0: 0, gradNorm: 0, steps: steps.length };
  try {
    for (const step of steps) {
      const coefficients = sampler === 'ddim' ? ddimStepCoefficients(plan.diffusion, step.index, eta, true, step.scale) : ddpmStepCoefficients(plan.diffusion, step.index, variance, true, step.scale);
      const outputsChannels = step.modelOutput.length / (BATCH * plan.size * plan.size);
      const outputs = await graph.run(
        {
          x: image(step.x),
          modelOutput: new ort.Tensor('float32', step.modelOutput, [BATCH, outputsChannels, plan.size, plan.size]),
          grad: image(step.grad ?? zeros),
          noise: image(step.noise ?? zeros),
        },
        coefficients,
      );
      worst.xNext = Math.max(worst.xNext, relativeError(await graph.toHost(outputs.xNext), step.xNext));
      worst.predX0 = Math.max(worst.predX0, relativeError(await graph.toHost(outputs.predX0), step.predX0));
      if (step.gradNorm !== null) worst.gradNorm = Math.max(worst.gradNorm, relativeError(outputs.gradNorm, step.gradNorm));
      expect([...outputs.finiteness]).toEqual([0, 0]);
    }
  } finally {
    await graph.release();
  }
  return worst;
}

describe('the step graphs on the CPU provider give the TypeScript samplers’ steps', () => {
  it('every step of a guided DDIM 50 run (η = 0) within 1e-6 of its own scale', async () => {
    const run = await recordedRun(tinyRequest({ steps: 'ddim50', eta: 0 }));
    const worst = await worstStepErrors('ddim', run, 0);
    expect(worst.steps).toBe(50);
    expect(worst.xNext).toBeLessThanOrEqual(1e-6);
    expect(worst.predX0).toBeLessThanOrEqual(1e-6);
    expect(worst.gradNorm).toBeLessThanOrEqual(1e-6);
  });

  it('every step of a guided DDIM 50 run with η = 1 and an interval schedule (unguided steps included)', async () => {
    const run = await recordedRun(tinyRequest({ steps: 'ddim50', eta: 1, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } }));
    expect(run.steps.some((step) => step.grad === null)).toBe(true);
    expect(run.steps.some((step) => step.noise !== null)).toBe(true);
    const worst = await worstStepErrors('ddim', run, 1);
    expect(worst.xNext).toBeLessThanOrEqual(1e-6);
    expect(worst.predX0).toBeLessThanOrEqual(1e-6);
  });

  it('every step of a guided DDPM run (all 100 steps, learned-range variance)', async () => {
    const run = await recordedRun(tinyRequest({ sampler: 'ddpm', steps: '100' }));
    const worst = await worstStepErrors('ddpm', run, 0);
    expect(worst.steps).toBe(100);
    expect(worst.xNext).toBeLessThanOrEqual(1e-6);
    expect(worst.predX0).toBeLessThanOrEqual(1e-6);
  });

  it('the float32 graphs WebGPU runs: x_{t−1} within 1e-6 too, x̂₀ within 1e-5 (float32 loses more of it at the noisiest steps)', async () => {
    const ddim = await worstStepErrors('ddim', await recordedRun(tinyRequest({ steps: 'ddim50', eta: 0 })), 0, 'float32');
    const ddpm = await worstStepErrors('ddpm', await recordedRun(tinyRequest({ sampler: 'ddpm', steps: '100' })), 0, 'float32');
    expect(ddim.xNext).toBeLessThanOrEqual(1e-6);
    expect(ddpm.xNext).toBeLessThanOrEqual(1e-6);
    expect(ddim.predX0).toBeLessThanOrEqual(1e-5);
    expect(ddpm.predX0).toBeLessThanOrEqual(1e-5);
  });

  it('every step of a guided DDPM run with fixed-large and fixed-small variance', async () => {
    for (const variance of ['fixed-large', 'fixed-small'] as const) {
      const run = await recordedRun(tinyRequest({ sampler: 'ddpm', steps: '25' }), variance);
      const worst = await worstStepErrors('ddpm', run, 0);
      expect(worst.xNext, variance).toBeLessThanOrEqual(1e-6);
      expect(worst.predX0, variance).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('a damaged install of the step graphs', () => {
  it('a missing graph file is named with what to do; a damaged one says which graph and provider failed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gds-step-graphs-'));
    try {
      await expect(DeviceStepGraph.open('ddimStep', 'cpu', 1, 'float64', dir)).rejects.toThrow(/The studio's ddimStep graph is missing \(.*ddimStep\.onnx: ENOENT\)\. Reinstall the studio, or run python -m studio_tools step-graphs/);
      await writeFile(stepGraphFile(dir, 'ddimStep', 'float64'), 'not an onnx graph');
      await copyFile(readBackGraphFile(sourceStepGraphsDir()), readBackGraphFile(dir));
      await expect(DeviceStepGraph.open('ddimStep', 'cpu', 1, 'float64', dir)).rejects.toThrow(/The studio's ddimStep graph could not be opened on CPU: .+\. Its file may be damaged: reinstall the studio/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
