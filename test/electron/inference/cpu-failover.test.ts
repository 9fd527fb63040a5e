/**
 * A provider that fails part way through a job: the model reopened on the CPU draws the seeds
 * left, so the job gives a CPU run's images, its events numbered as one job, and the failure
 * named with its step. A failure on the CPU, a cancel or a diverged sample still ends the job.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { SamplingDivergedError } from '../../../common/diffusion/sampler';
import { sampleFallingBackToCpu } from '../../../electron/inference/cpu-failover';
import { loadModel, releaseModel, type LoadedModel } from '../../../electron/inference/loaded-model';
import { runSamplingJob, type JobOptions } from '../../../electron/inference/sampling-job';
import type { ProgressEvent, ReplayNoise, SampleResult } from '../../../electron/inference/types';
import { FAILING_CALL, OUT_OF_MEMORY, withFailingUnet } from './failing-provider';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
const TINY_MODEL = path.join(FIXTURES, 'tiny-model');
const NAN_MODEL = path.join(FIXTURES, 'nan-below-t40');

let cpu: LoadedModel;
beforeAll(async () => {
  cpu = await loadModel(TINY_MODEL, 'cpu', 1);
});
afterAll(() => releaseModel(cpu));

function tinyRequest(overrides: Partial<RunRequest> = {}): RunRequest {
  return { modelId: 'tiny-test', classIndex: 1, mode: 'unconditional+classifier', scale: 3, sampler: 'ddim', steps: 'ddim10', eta: 0, clipDenoised: true, seeds: [5, 6, 7], batchSize: 2, provider: 'cuda', ...overrides };
}

const jobOptions = (overrides: Partial<JobOptions> = {}): JobOptions => ({ trajectory: false, previewEvery: 1, noise: null, ...overrides });

interface Drawn {
  samples: SampleResult[];
  events: ProgressEvent[];
}

function recorder(): Drawn & { progress(event: ProgressEvent): void; sample(sample: SampleResult): void } {
  const drawn: Drawn = { samples: [], events: [] };
  return { ...drawn, progress: (event) => drawn.events.push(event), sample: (sample) => drawn.samples.push(sample) };
}

async function plainCpuRun(request: RunRequest, options: JobOptions = jobOptions()): Promise<SampleResult[]> {
  const events = recorder();
  await runSamplingJob(cpu, { ...request, provider: 'cpu' }, options, events);
  return events.samples;
}

describe('a provider that fails part way', () => {
  it('finishes on the CPU with the images a CPU run gives, and names the step it failed at', async () => {
    const events = recorder();
    let reopened = 0;
    const outcome = await sampleFallingBackToCpu(withFailingUnet(cpu, 'cuda', FAILING_CALL), tinyRequest(), jobOptions(), events, async () => {
      reopened += 1;
      return cpu;
    });
    expect(reopened).toBe(1);
    expect(outcome.model).toBe(cpu);
    expect(outcome.failure).toEqual({ provider: 'cuda', error: expect.stringContaining(OUT_OF_MEMORY) as unknown as string, failedAt: { step: 3, steps: 10 } });
    expect(outcome.failure?.error).toMatch(/^The UNet graph failed on inputs x float32 \[2, 1, 8, 8\]/);

    const plain = await plainCpuRun(tinyRequest());
    expect(events.samples.map((sample) => [sample.index, sample.seed])).toEqual([[0, 5], [1, 6], [2, 7]]);
    events.samples.forEach((sample, position) => {
      expect(sample.image).toEqual(plain[position]!.image);
      expect(sample.classProbability).toBe(plain[position]!.classProbability);
    });
    // The first batch's ten steps, the two that ran before the failure, then the CPU's ten, numbered as in one job.
    expect(events.events.map((event) => [event.batch, event.step])).toEqual([
      ...Array.from({ length: 10 }, (_, step) => [0, step]),
      [1, 0],
      [1, 1],
      ...Array.from({ length: 10 }, (_, step) => [1, step]),
    ]);
    const last = events.events.at(-1)!;
    expect(last).toMatchObject({ batches: 2, samplesDone: 2, total: 3 });
    expect(last.previews.map((preview) => preview.index)).toEqual([2]);
  });

  it('draws the rest from the replayed noise rows of the seeds left', async () => {
    const request = tinyRequest({ sampler: 'ddpm', steps: '10' });
    const perSample = 64;
    const values = (count: number, offset: number): Float32Array => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + offset));
    const noise: ReplayNoise = { initial: values(3 * perSample, 1), steps: values(10 * 3 * perSample, 2) };
    const events = recorder();
    const outcome = await sampleFallingBackToCpu(withFailingUnet(cpu, 'cuda', FAILING_CALL), request, jobOptions({ noise }), events, async () => cpu);
    expect(outcome.failure?.failedAt).toEqual({ step: 3, steps: 10 });
    const plain = await plainCpuRun(request, jobOptions({ noise }));
    expect(events.samples.map((sample) => sample.image)).toEqual(plain.map((sample) => sample.image));
  });

  it('a failure on the CPU ends the job with its sentence and reopens nothing', async () => {
    let reopened = 0;
    const job = sampleFallingBackToCpu(withFailingUnet(cpu, 'cpu', FAILING_CALL), tinyRequest({ provider: 'cpu' }), jobOptions(), recorder(), async () => {
      reopened += 1;
      return cpu;
    });
    await expect(job).rejects.toThrow(/^The UNet graph failed on inputs x float32 \[2, 1, 8, 8\].*: CUDA failure 2: out of memory$/);
    expect(reopened).toBe(0);
  });

  it('a cancel and a diverged sample are not the provider\'s fault, so they are not drawn again', async () => {
    const reopen = async (): Promise<LoadedModel> => {
      throw new Error('reopened');
    };
    let calls = 0;
    const cancelled = sampleFallingBackToCpu(withFailingUnet(cpu, 'cuda', 1000), tinyRequest(), jobOptions({ cancelled: () => ++calls > 4 }), recorder(), reopen);
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });

    const nan = await loadModel(NAN_MODEL, 'cpu', 1);
    try {
      const diverged = sampleFallingBackToCpu(withFailingUnet(nan, 'cuda', 1000), { ...tinyRequest({ modelId: 'nan-below-t40', classIndex: 0 }), seeds: [1, 2] }, jobOptions(), recorder(), reopen);
      await expect(diverged).rejects.toBeInstanceOf(SamplingDivergedError);
    } finally {
      await releaseModel(nan);
    }
  });
});
