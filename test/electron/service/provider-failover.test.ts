/**
 * A run whose GPU provider fails part way, through the studio: the worker reopens the model on
 * the CPU and finishes the run there, the gallery keeps the CPU run's images and why, and the
 * sample details and `gallery show` say so. A failure on the CPU itself fails the run with its
 * sentence and keeps the samples already finished. The CUDA here is a stand-in
 * (failing-provider-worker.ts): a model opened on the CPU, labelled CUDA, whose UNet fails at step 3 of 10 of batch 2.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import type { RunEvent } from '../../../common/contract/studio-api';
import { sampleDetailLines } from '../../../electron/cli/commands/gallery';
import { decodePng } from '../../../electron/png/image';
import { openStudio, type Studio } from '../../../electron/service/open-studio';
import { OUT_OF_MEMORY } from '../inference/failing-provider';

const TINY_MODEL = path.resolve(import.meta.dirname, '../../fixtures/tiny-model');
const FAILING_WORKER = new URL('../inference/failing-provider-worker.ts', import.meta.url);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gds-failover-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const request = (provider: RunRequest['provider'], seeds = [5, 6, 7]): RunRequest => ({
  modelId: 'tiny-test', classIndex: 1, mode: 'unconditional+classifier', scale: 3, sampler: 'ddim', steps: 'ddim10', eta: 0, clipDenoised: true, seeds, batchSize: 2, provider,
});

/** Queues the run and resolves with its `finished` event. */
async function drawn(studio: Studio, asked: RunRequest): Promise<Extract<RunEvent, { type: 'finished' }>> {
  const endings: Extract<RunEvent, { type: 'finished' }>[] = [];
  let wake = (): void => {};
  const unsubscribe = studio.onRunEvent((event) => {
    if (event.type !== 'finished') return;
    endings.push(event);
    wake();
  });
  try {
    const { jobId } = await studio.startRun({ request: asked, recordTrajectory: false });
    for (;;) {
      const ending = endings.find((candidate) => candidate.jobId === jobId);
      if (ending) return ending;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    unsubscribe();
  }
}

/** The stored pixels of a run's samples, by seed. */
function pixelsBySeed(studio: Studio, runId: number): Map<number, Uint8Array> {
  const samples = studio.gallery.samples.list({ limit: 100 }).items.filter((sample) => sample.runId === runId);
  return new Map(samples.map((sample) => [sample.seed, decodePng(studio.gallery.samples.image(sample.id)!).data]));
}

describe('a GPU provider that fails part way through a run', () => {
  it('finishes on the CPU with the images a CPU run gives, and the gallery keeps and shows the reason', async () => {
    const studio = openStudio({ dataDir: path.join(root, 'data'), modelDirs: [TINY_MODEL], threads: 1, carryOnQueue: false, workerEntry: FAILING_WORKER });
    try {
      const onCuda = await drawn(studio, request('cuda'));
      expect(onCuda).toMatchObject({ status: 'completed', message: null, sampleCount: 3 });
      const onCpu = await drawn(studio, request('cpu'));
      expect(onCpu).toMatchObject({ status: 'completed', sampleCount: 3 });

      const runs = studio.gallery.runs.list();
      const cudaRun = runs.find((run) => run.request.provider === 'cuda')!;
      const cpuRun = runs.find((run) => run.request.provider === 'cpu')!;
      expect(cudaRun).toMatchObject({ status: 'completed', provider: 'cpu', sampleCount: 3 });
      expect(cudaRun.providerFallback).toMatch(new RegExp(`^CUDA failed at step 3 of 10: The UNet graph failed on inputs .*: ${OUT_OF_MEMORY}; finished on the CPU\\.$`));
      expect(cpuRun.providerFallback).toBeNull();

      const failedOver = pixelsBySeed(studio, cudaRun.id);
      const plain = pixelsBySeed(studio, cpuRun.id);
      expect([...failedOver.keys()].sort()).toEqual([5, 6, 7]);
      for (const [seed, pixels] of plain) expect(failedOver.get(seed)).toEqual(pixels);

      const [sample] = studio.gallery.samples.list({ limit: 100 }).items.filter((candidate) => candidate.runId === cudaRun.id);
      const lines = sampleDetailLines(studio.gallery.samples.detail(sample!.id)!);
      expect(lines).toContain('Provider:           CPU');
      expect(lines).toContain('Provider asked for: CUDA');
      expect(lines).toContain(`Provider fallback:  ${cudaRun.providerFallback}`);
    } finally {
      await studio.close();
    }
  });

  it('a failure on the CPU itself fails the run with its sentence, keeps the finished batch, and the studio goes on', async () => {
    const failingFolder = path.join(root, 'cpu-fails', 'tiny-model');
    await cp(TINY_MODEL, failingFolder, { recursive: true });
    const studio = openStudio({ dataDir: path.join(root, 'cpu-data'), modelDirs: [failingFolder], threads: 1, carryOnQueue: false, workerEntry: FAILING_WORKER });
    try {
      const ending = await drawn(studio, request('cpu'));
      expect(ending.status).toBe('failed');
      expect(ending.message).toMatch(new RegExp(`^The UNet graph failed on inputs x float32 \\[2, 1, 8, 8\\].*: ${OUT_OF_MEMORY}$`));
      expect(ending.sampleCount).toBe(2);
      const [run] = studio.gallery.runs.list();
      expect(run).toMatchObject({ status: 'failed', provider: 'cpu', providerFallback: null, sampleCount: 2, error: ending.message });
      expect(studio.gallery.runs.missingSeeds(run!.id)).toEqual([7]);
      // The worker is still there for the next request.
      expect((await studio.listModels()).map((model) => model.id)).toEqual(['tiny-test']);

      // CUDA fails in batch 2, the CPU that takes over fails in its own batch 2: the run fails, and says where it was drawn.
      const handedOver = await drawn(studio, request('cuda', [5, 6, 7, 8, 9, 10]));
      expect(handedOver).toMatchObject({ status: 'failed', sampleCount: 4 });
      const failedOnCpu = studio.gallery.runs.list().find((candidate) => candidate.request.provider === 'cuda')!;
      expect(failedOnCpu).toMatchObject({ status: 'failed', provider: 'cpu', sampleCount: 4, error: handedOver.message });
      expect(failedOnCpu.providerFallback).toMatch(new RegExp(`^CUDA failed at step 3 of 10: The UNet graph failed on inputs .*: ${OUT_OF_MEMORY}; continued on the CPU\\.$`));
      expect(studio.gallery.runs.missingSeeds(failedOnCpu.id)).toEqual([9, 10]);
    } finally {
      await studio.close();
    }
  });
});
