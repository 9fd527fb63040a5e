/**
 * The device sampling path on the CPU provider (the same code WebGPU runs, with CPU tensors)
 * against the host path: the same images, confidences and previews from the same seeds, x copied
 * back only when a preview is due, divergence and cancellation reported as on the host, and a GPU
 * provider this machine lacks falling back to the CPU with its reason.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { DeviceStepGraph } from '../../../electron/inference/device-step-graphs';
import { createEngine } from '../../../electron/inference';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { runSamplingJob, type JobOptions } from '../../../electron/inference/sampling-job';
import type { ProgressEvent, SampleResult } from '../../../electron/inference/types';
import { TEST_MODEL_FOLDERS } from './test-models';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
const TINY_MODEL = path.join(FIXTURES, 'tiny-model');
const NAN_MODEL = path.join(FIXTURES, 'nan-below-t40');

let tiny: LoadedModel;
beforeAll(async () => {
  tiny = await loadModel(TINY_MODEL, 'cpu', 1);
});
afterAll(() => releaseModel(tiny));
afterEach(() => {
  vi.restoreAllMocks();
});

function tinyRequest(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    modelId: 'tiny-test',
    classIndex: 1,
    mode: 'unconditional+classifier',
    scale: 3,
    sampler: 'ddim',
    steps: 'ddim50',
    eta: 0,
    clipDenoised: true,
    seeds: [5, 6, 7],
    batchSize: 2,
    provider: 'cpu',
    ...overrides,
  };
}

interface Sampled {
  samples: SampleResult[];
  events: ProgressEvent[];
}

async function sampled(model: LoadedModel, request: RunRequest, options: Partial<JobOptions>): Promise<Sampled> {
  const samples: SampleResult[] = [];
  const events: ProgressEvent[] = [];
  await runSamplingJob(model, request, { trajectory: false, previewEvery: 1, noise: null, ...options }, { progress: (event) => events.push(event), sample: (sample) => samples.push(sample) });
  return { samples, events };
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs((a[i] as number) - (b[i] as number)));
  return largest;
}

/** Both paths on one request: every sample's pixels within 1e-5, the same confidences, and the previews at the same steps. */
async function expectSamePaths(model: LoadedModel, request: RunRequest, options: Partial<JobOptions> = {}): Promise<{ host: Sampled; device: Sampled }> {
  const host = await sampled(model, request, { ...options, stepsOn: 'host' });
  const device = await sampled(model, request, { ...options, stepsOn: 'device' });
  expect(device.samples.map((sample) => sample.seed)).toEqual(request.seeds);
  host.samples.forEach((sample, position) => {
    const onDevice = device.samples[position] as SampleResult;
    expect(largestDifference(onDevice.image, sample.image)).toBeLessThanOrEqual(1e-5);
    if (sample.classProbability === null) expect(onDevice.classProbability).toBeNull();
    else expect(onDevice.classProbability).toBeCloseTo(sample.classProbability, 5);
  });
  expect(device.events.map((event) => [event.batch, event.step, event.previews.length])).toEqual(host.events.map((event) => [event.batch, event.step, event.previews.length]));
  host.events.forEach((event, position) => {
    const onDevice = device.events[position] as ProgressEvent;
    if (event.classProbability) expect(largestDifference(onDevice.classProbability ?? [], event.classProbability)).toBeLessThanOrEqual(1e-5);
    if (event.gradNorm) expect(largestDifference(onDevice.gradNorm ?? [], event.gradNorm)).toBeLessThanOrEqual(1e-4 * Math.max(...event.gradNorm));
  });
  return { host, device };
}

describe('the device path gives the host path’s images on the CPU provider', () => {
  it('guided DDIM 50 (η = 0), two batches', async () => {
    const { device } = await expectSamePaths(tiny, tinyRequest());
    expect(device.samples).toHaveLength(3);
    expect(device.events.every((event) => event.classProbability?.length === event.previews.length || event.previews.length === 0)).toBe(true);
  });

  it('guided DDIM with η = 1 on an interval schedule, whose last step asks the classifier about its input afterwards', async () => {
    await expectSamePaths(tiny, tinyRequest({ steps: 'ddim25', eta: 1, guidanceSchedule: { kind: 'interval', tLo: 30, tHi: 80 } }));
  });

  it('guided DDPM over all 100 steps (learned-range variance)', async () => {
    await expectSamePaths(tiny, tinyRequest({ sampler: 'ddpm', steps: '100', seeds: [9, 10] }));
  });

  it('conditional sampling without the classifier', async () => {
    const { device } = await expectSamePaths(tiny, tinyRequest({ mode: 'conditional', sampler: 'ddpm', steps: '20' }));
    expect(device.samples.every((sample) => sample.classProbability === null)).toBe(true);
  });
});

describe('the device path copies x back only when it is wanted', () => {
  it('with a long preview interval, x and x̂₀ come back at the first and last step of each batch only', async () => {
    const readBack = vi.spyOn(DeviceStepGraph.prototype, 'toHost');
    const { device } = await expectSamePaths(tiny, tinyRequest({ steps: 'ddim20' }), { previewIntervalMs: 3_600_000 });
    expect(device.events.filter((event) => event.previews.length > 0).map((event) => [event.batch, event.step])).toEqual([
      [0, 0],
      [0, 19],
      [1, 0],
      [1, 19],
    ]);
    // Two tensors (x, x̂₀) on each of the four copied steps.
    expect(readBack).toHaveBeenCalledTimes(8);
  });
});

describe('the device path reports what the host path reports', () => {
  it('a sample that diverges names the same step and sample', async () => {
    const nan = await loadModel(NAN_MODEL, 'cpu', 1);
    try {
      const request = { ...tinyRequest({ modelId: 'nan-below-t40', steps: 'ddim10', classIndex: 0 }), seeds: [1, 2] };
      const hostError = await sampled(nan, request, { stepsOn: 'host' }).catch((error: unknown) => error as Error);
      const deviceError = await sampled(nan, request, { stepsOn: 'device' }).catch((error: unknown) => error as Error);
      expect(hostError).toBeInstanceOf(Error);
      expect((deviceError as Error).name).toBe((hostError as Error).name);
      expect((deviceError as Error).message).toBe((hostError as Error).message);
      expect((deviceError as Error).message).toMatch(/Sampling diverged.*Lower the guidance scale/);
    } finally {
      await releaseModel(nan);
    }
  });

  it('a cancel stops it before the next network call', async () => {
    let calls = 0;
    const error = await sampled(tiny, tinyRequest(), { stepsOn: 'device', cancelled: () => ++calls > 5 }).catch((caught: unknown) => caught as Error);
    expect((error as Error).name).toBe('AbortError');
  });

  it('refuses, with the reason, a request it cannot take when asked for it by name; "auto" keeps such requests on the host', async () => {
    await expect(sampled(tiny, tinyRequest({ sampler: 'dpmpp2m', steps: 'ddim20' }), { stepsOn: 'device' })).rejects.toThrow(/cannot be sampled on the device: the dpmpp2m sampler has no step graph/);
    await expect(sampled(tiny, tinyRequest(), { stepsOn: 'device', trajectory: true })).rejects.toThrow(/trajectory keeps every step on the host/);
    const { samples } = await sampled(tiny, tinyRequest({ sampler: 'dpmpp2m', steps: 'ddim20' }), { stepsOn: 'auto' });
    expect(samples).toHaveLength(3);
  });
});

describe('a GPU provider that does not start falls back to the CPU visibly', () => {
  it('a model asked for on CUDA runs on the CPU, says why CUDA failed, and the device path follows it', async () => {
    const model = await loadModel(TINY_MODEL, 'cuda', 1);
    try {
      expect(model.unet.provider).toBe('cpu');
      expect(model.unet.fallbacks.map((attempt) => attempt.provider)).toEqual(['cuda']);
      expect(model.unet.fallbacks[0]?.error.length).toBeGreaterThan(0);
      expect(model.classifier?.provider).toBe('cpu');
      await expectSamePaths(model, tinyRequest({ steps: 'ddim10', provider: 'cuda' }));
    } finally {
      await releaseModel(model);
    }
  });

  it('through the engine, the run result names the provider really used and the failed one with its reason', async () => {
    const engine = createEngine({ modelFolders: [...TEST_MODEL_FOLDERS, TINY_MODEL], threads: 1 });
    try {
      const info = await engine.loadModel('tiny-test', 'cuda');
      expect(info.provider).toBe('cpu');
      expect(info.fallbacks).toEqual([{ provider: 'cuda', error: expect.stringMatching(/\S/) as unknown as string }]);
      const result = await engine.sample(tinyRequest({ provider: 'cuda', steps: 'ddim10', seeds: [1] }));
      expect(result.provider).toBe('cpu');
      expect(result.fallbacks.map((attempt) => attempt.provider)).toEqual(['cuda']);
      expect(result.samples).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });
});
