/**
 * The command line's switch flags and `gallery fork`: `sample --switch-at K --switch-class …`
 * goes into the run and its PNGs' recipes, bad combinations are refused with a sentence before
 * anything is drawn, and `gallery fork` draws a sample's fork into the same gallery.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkSample } from '../../../electron/cli/commands/gallery';
import { runSampleCommand, sampleCommand, type SampleCommandOptions } from '../../../electron/cli/commands/sample';
import { openStudio } from '../../../electron/service/open-studio';
import { readRecipe } from '../../../electron/png/recipe-chunk';

const REPO = path.resolve(import.meta.dirname, '../../..');
const TINY_MODEL = path.join(REPO, 'test/fixtures/tiny-model');

let out: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'gds-cli-switch-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

function options(overrides: Partial<SampleCommandOptions>): SampleCommandOptions {
  return {
    model: TINY_MODEL,
    class: 'circle',
    mode: 'conditional+classifier',
    sampler: 'ddim',
    steps: 'ddim10',
    scale: 3,
    seed: 4,
    count: 1,
    batch: 1,
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

describe('sample --switch-at', () => {
  it('draws class A until step K and class B after, with another sampler, and the PNG says so', async () => {
    const switched = await runSampleCommand(options({ switchAt: 4, switchClass: 'cross', switchSampler: 'dpmpp2m', out: path.join(out, 'switched') }));
    expect(switched.request.switchAt).toEqual({ step: 4, classIndex: 2, sampler: 'dpmpp2m' });
    const recipe = readRecipe(new Uint8Array(await readFile(switched.files[0] as string)));
    expect(recipe).toMatchObject({ format: 4, classIndex: 0, switchAt: { step: 4, classIndex: 2, sampler: 'dpmpp2m' } });
    const plain = await runSampleCommand(options({ out: path.join(out, 'plain') }));
    expect(switched.result.samples[0]?.image).not.toEqual(plain.result.samples[0]?.image);
  });

  it('parses the flags', () => {
    expect(parsedFlags(['--switch-at', '5', '--switch-class', 'square', '--switch-scale', '6', '--switch-sampler', 'ddpm', '--switch-cfg', '2'])).toMatchObject({
      switchAt: 5,
      switchClass: 'square',
      switchScale: 6,
      switchSampler: 'ddpm',
      switchCfg: 2,
    });
    expect(parsedFlags(['--switch-at', '5', '--switch-schedule', 'interval:0-40']).switchSchedule).toEqual({ kind: 'interval', tLo: 0, tHi: 40 });
  });

  it.each([
    [['--switch-at', '0'], '--switch-at must be a whole number from 1 to 100000, got "0".'],
    [['--switch-scale', 'big'], '--switch-scale must be a number from 0 to 100, got "big".'],
    [['--switch-schedule', 'ramp:x'], '--switch-schedule must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "ramp:x".'],
  ])('refuses %j with a sentence', (argv, sentence) => {
    expect(() => parsedFlags(argv)).toThrow(sentence);
  });

  it('refuses switch settings without --switch-at, a step past the run and a switch that changes nothing', async () => {
    await expect(runSampleCommand(options({ switchClass: 'cross', switchScale: 2 }))).rejects.toThrow('--switch-class, --switch-scale need --switch-at K, the first step drawn with the switched settings.');
    await expect(runSampleCommand(options({ switchAt: 10, switchClass: 'cross' }))).rejects.toThrow('The switch at step 10 is outside this run: with 10 steps it must be from 1 to 9');
    await expect(runSampleCommand(options({ switchAt: 3 }))).rejects.toThrow('The switch at step 3 changes nothing');
  });
});

describe('gallery fork', () => {
  it("draws a sample's fork into its gallery, linked to it", async () => {
    const data = path.join(out, 'data');
    await runSampleCommand(options({ data, out: path.join(out, 'parent') }));
    const listing = openStudio({ dataDir: data, modelDirs: [], carryOnQueue: false });
    const [parent] = listing.gallery.samples.list({ limit: 1 }).items;
    await listing.close();
    expect(parent).toBeDefined();
    const forkId = await forkSample(parent!.id, { data, models: TINY_MODEL, step: 3, class: 'square', threads: 1 });
    const studio = openStudio({ dataDir: data, modelDirs: [], carryOnQueue: false });
    try {
      const fork = await studio.getSample({ sampleId: forkId });
      expect(fork.sample.classIndex).toBe(1);
      expect(fork.run.request).toMatchObject({ seeds: [4], switchAt: { step: 3, classIndex: 1 }, forkOf: { sampleId: parent!.id, step: 3 } });
    } finally {
      await studio.close();
    }
    await expect(forkSample(parent!.id, { data, models: TINY_MODEL, step: 3, threads: 1 })).rejects.toThrow('A fork needs at least one of --class, --scale, --sampler or --cfg');
    await expect(forkSample(parent!.id, { data: path.join(out, 'nowhere'), models: TINY_MODEL, step: 3, class: 'square', threads: 1 })).rejects.toThrow('There is no gallery in');
  });
});
