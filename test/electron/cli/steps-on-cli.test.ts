/**
 * Where the reverse steps run, chosen from the command line and the service: `--steps-on device`
 * draws the host's images within float rounding on the CPU provider, and a bad value or a run the
 * device path cannot take is refused in a sentence before anything is drawn.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../common/contract/run-request';
import { runSampleCommand, sampleCommand, type SampleCommandOptions } from '../../../electron/cli/commands/sample';
import { createEngine } from '../../../electron/inference';
import { openStudio } from '../../../electron/service/open-studio';

const TINY_MODEL = path.resolve(import.meta.dirname, '../../fixtures/tiny-model');
/** The device path's float32 step graph against the host's steps, on the CPU provider (device-sampling.test.ts). */
const PATHS_AGREE_WITHIN = 3.5e-6;

let out: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'gds-cli-steps-on-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

function options(overrides: Partial<SampleCommandOptions>): SampleCommandOptions {
  return {
    model: TINY_MODEL,
    class: 'square',
    mode: 'unconditional+classifier',
    sampler: 'ddim',
    steps: 'ddim25',
    scale: 3,
    seed: 11,
    count: 3,
    batch: 2,
    provider: 'cpu',
    out,
    clip: true,
    threads: 1,
    unetPrecision: 'auto',
    progress: false,
    ...overrides,
  };
}

function parsedFlags(argv: string[]): Record<string, unknown> {
  const command = sampleCommand().exitOverride().configureOutput({ writeErr: () => {} });
  command.action(() => {});
  command.parse(['--class', 'circle', ...argv], { from: 'user' });
  return command.opts();
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs((a[i] as number) - (b[i] as number)));
  return largest;
}

describe('sample --steps-on', () => {
  it('parses auto, device and host, leaves it out when not given, and names it in the help', () => {
    expect(parsedFlags(['--steps-on', 'device']).stepsOn).toBe('device');
    expect(parsedFlags(['--steps-on', 'host']).stepsOn).toBe('host');
    expect(parsedFlags(['--steps-on', 'auto']).stepsOn).toBe('auto');
    expect(parsedFlags([]).stepsOn).toBeUndefined();
    expect(sampleCommand().helpInformation()).toMatch(/--steps-on <placement>\s+where the reverse steps run: device/);
  });

  it('refuses a value that is not a placement with a sentence', () => {
    expect(() => parsedFlags(['--steps-on', 'gpu'])).toThrow('--steps-on must be auto, device or host, got "gpu".');
  });

  it('draws on the device the images the host draws, and the run records where its steps ran', async () => {
    const dataDir = path.join(out, 'data');
    const host = await runSampleCommand(options({ stepsOn: 'host', out: path.join(out, 'host') }));
    const device = await runSampleCommand(options({ stepsOn: 'device', data: dataDir, out: path.join(out, 'device') }));
    expect(device.result.samples.map((sample) => sample.seed)).toEqual([11, 12, 13]);
    const differences = host.result.samples.map((sample, position) => largestDifference(device.result.samples[position]!.image, sample.image));
    for (const difference of differences) expect(difference).toBeLessThanOrEqual(PATHS_AGREE_WITHIN);
    // The step graph rounds in float32 where the host steps in float64: identical bytes would mean the placement never reached the sampler.
    expect(Math.max(...differences)).toBeGreaterThan(0);
    device.result.samples.forEach((sample, position) => {
      expect(sample.classProbability).toBeCloseTo(host.result.samples[position]!.classProbability!, 5);
    });

    const studio = openStudio({ dataDir, modelDirs: [TINY_MODEL], threads: 1, carryOnQueue: false });
    try {
      const [sample] = (await studio.listSamples({ limit: 1 })).items;
      const detail = await studio.getSample({ sampleId: sample!.id });
      expect(detail.run.request.stepsOn).toBe('device');
      // Where the steps ran changes no pixel beyond rounding, so a re-run from the PNG's recipe does not ask for it.
      expect(studio.gallery.exportPng(sample!.id).recipe).not.toHaveProperty('stepsOn');
      // A fork keeps its trajectory, which only the host path records: it leaves the placement to "auto" rather than being refused.
      const { jobId } = await studio.forkSample({ sampleId: sample!.id, step: 10, changes: { classIndex: 2 } });
      const forkRun = studio.queue.view().entries.find((entry) => entry.jobId === jobId);
      expect(forkRun).toBeDefined();
    } finally {
      await studio.close();
    }
  });

  it.each([
    [{ sampler: 'dpmpp2m', steps: 'ddim20' }, 'This run cannot be sampled on the device: the dpmpp2m sampler has no step graph.'],
    [{ mode: 'classifier-free', cfg: 2 }, 'This run cannot be sampled on the device: classifier-free guidance mixes two UNet outputs on the host.'],
    [{ switchAt: 10, switchClass: 'cross' }, 'This run cannot be sampled on the device: a run that switches settings mid-way is sampled on the host.'],
    [{ trajectoryOut: 'trajectory' }, 'This run cannot be sampled on the device: a trajectory keeps every step on the host anyway.'],
  ] as [Partial<SampleCommandOptions>, string][])('refuses --steps-on device for %o before the studio opens, saying what to choose', async (overrides, sentence) => {
    const dataDir = path.join(out, 'refused');
    const refusal = runSampleCommand(options({ stepsOn: 'device', data: dataDir, ...overrides }));
    await expect(refusal).rejects.toThrow(sentence);
    await expect(refusal).rejects.toThrow('Choose steps on "host" or "auto" (--steps-on host on the command line), which draw the same images.');
  });

  it('draws those runs when the steps are left to "auto"', async () => {
    const drawn = await runSampleCommand(options({ stepsOn: 'auto', sampler: 'dpmpp2m', steps: 'ddim20', count: 1, out: path.join(out, 'auto') }));
    expect(drawn.files).toHaveLength(1);
  });
});

describe('step placement through the service and the engine', () => {
  const request: RunRequest = {
    modelId: 'tiny-test',
    classIndex: 1,
    mode: 'unconditional+classifier',
    scale: 3,
    sampler: 'dpmpp2m',
    steps: 'ddim20',
    eta: 0,
    clipDenoised: true,
    seeds: [1],
    batchSize: 1,
    provider: 'cpu',
    stepsOn: 'device',
  };

  it('a run request the device path cannot take is answered with the sentence and queues nothing', async () => {
    const dataDir = await mkdtemp(path.join(out, 'service-'));
    const studio = openStudio({ dataDir, modelDirs: [TINY_MODEL], threads: 1, carryOnQueue: false });
    try {
      await expect(studio.startRun({ request, recordTrajectory: false })).rejects.toThrow('This run cannot be sampled on the device: the dpmpp2m sampler has no step graph.');
      await expect(studio.startRun({ request: { ...request, sampler: 'ddim' }, recordTrajectory: true })).rejects.toThrow('a trajectory keeps every step on the host anyway');
      expect(studio.queue.view().entries).toEqual([]);
    } finally {
      await studio.close();
    }
  });

  it('the engine refuses it before the worker draws, and a bad placement is named', async () => {
    const engine = createEngine({ modelFolders: [TINY_MODEL], threads: 1 });
    try {
      await expect(engine.sample(request)).rejects.toThrow('This run cannot be sampled on the device: the dpmpp2m sampler has no step graph.');
      await expect(engine.sample({ ...request, stepsOn: 'gpu' as RunRequest['stepsOn'] })).rejects.toThrow('where the steps run must be auto, device or host');
    } finally {
      await engine.close();
    }
  });
});
