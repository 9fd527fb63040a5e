/**
 * The sample command's guidance lab flags: --cfg, --schedule and --sampler dpmpp2m go into the
 * run and its PNGs' recipes; bad values and the DDIM guidance trap are refused with a sentence
 * before anything is drawn; --sampler ddim without --steps picks the model's "ddimN" spacing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSampleCommand, sampleCommand, type SampleCommandOptions } from '../../../electron/cli/commands/sample';
import { parseGuidanceSchedule } from '../../../electron/cli/guidance-schedule-option';
import { readRecipe } from '../../../electron/png/recipe-chunk';

const REPO = path.resolve(import.meta.dirname, '../../..');
const TINY_MODEL = path.join(REPO, 'test/fixtures/tiny-model');
const BUILT_IN = path.join(REPO, 'models/fashion-mnist');

let out: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'gds-cli-lab-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

function options(overrides: Partial<SampleCommandOptions>): SampleCommandOptions {
  return { model: TINY_MODEL, class: 'cross', seed: 3, count: 2, batch: 2, provider: 'cpu', out, clip: true, threads: 1, unetPrecision: 'auto', progress: false, ...overrides };
}

/** What commander makes of the flags, without running the command. */
function parsedFlags(argv: string[]): Record<string, unknown> {
  const command = sampleCommand().exitOverride().configureOutput({ writeErr: () => {} });
  command.action(() => {});
  command.parse(['--class', 'cross', ...argv], { from: 'user' });
  return command.opts();
}

describe('sample --cfg, --schedule and --sampler dpmpp2m', () => {
  it('draws with classifier-free guidance, DPM-Solver++ and an interval, and the PNGs say so', async () => {
    const drawn = await runSampleCommand(options({ cfg: 2.5, sampler: 'dpmpp2m', steps: 'ddim10', schedule: { kind: 'interval', tLo: 20, tHi: 70 }, out: path.join(out, 'lab') }));
    expect(drawn.request).toMatchObject({ mode: 'classifier-free', cfgScale: 2.5, sampler: 'dpmpp2m', steps: 'ddim10', guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
    expect(drawn.files).toHaveLength(2);
    const recipe = readRecipe(new Uint8Array(await readFile(drawn.files[0] as string)));
    expect(recipe).toMatchObject({ format: 3, mode: 'classifier-free', cfgScale: 2.5, sampler: 'dpmpp2m', classIndex: 2 });
    // The schedule is kept as asked, so a re-run from the PNG asks the same.
    expect(recipe.guidanceSchedule).toEqual({ kind: 'interval', tLo: 20, tHi: 70 });
    // w changes the images: the same seeds at w = 0.5 differ.
    const weaker = await runSampleCommand(options({ cfg: 0.5, sampler: 'dpmpp2m', steps: 'ddim10', out: path.join(out, 'weaker') }));
    expect(weaker.result.samples[0]?.image).not.toEqual(drawn.result.samples[0]?.image);
  });

  it('parses the flags as the contract reads them', () => {
    expect(parsedFlags(['--cfg', '3', '--sampler', 'dpmpp2m', '--schedule', 'ramp:1.5-0'])).toMatchObject({ cfg: 3, sampler: 'dpmpp2m', schedule: { kind: 'ramp', from: 1.5, to: 0 } });
    expect(parsedFlags(['--schedule', 'interval:200-800']).schedule).toEqual({ kind: 'interval', tLo: 200, tHi: 800 });
    expect(parsedFlags(['--schedule', 'constant']).schedule).toEqual({ kind: 'constant' });
    expect(parsedFlags(['--mode', 'classifier-free+classifier']).mode).toBe('classifier-free+classifier');
  });

  it.each([
    [['--cfg', '-1'], '--cfg must be a number from 0 to 100, got "-1".'],
    [['--cfg', 'strong'], '--cfg must be a number from 0 to 100, got "strong".'],
    [['--schedule', 'interval:800-200x'], '--schedule must be "constant", "interval:LO-HI" with whole timesteps (e.g. interval:200-800) or "ramp:FROM-TO" with factors (e.g. ramp:1.5-0), got "interval:800-200x".'],
    [['--schedule', 'wave'], '--schedule must be "constant"'],
    [['--sampler', 'euler'], "Allowed choices are ddpm, ddim, dpmpp2m."],
  ])('refuses %o with a sentence', (argv, message) => {
    expect(() => parsedFlags(argv)).toThrow(message);
  });

  it('refuses a schedule value the contract cannot hold', () => {
    expect(() => parseGuidanceSchedule('interval:20.5-70')).toThrow(/^--schedule must be "constant"/);
  });

  it.each([
    [{ sampler: 'ddim' as const, steps: '10', mode: 'conditional+classifier' as const }, /^DDIM with plain respacing '10' starts at t = 99 where ᾱ = .* use 'ddim10'\.$/],
    [{ schedule: { kind: 'interval' as const, tLo: 50, tHi: 100 } }, "A guidance interval needs whole timesteps 0 ≤ tLo ≤ tHi ≤ 99, got [50, 100]. Pick the interval inside the model's 100 timesteps."],
    [{ cfg: 2, mode: 'conditional+classifier' as const }, '--cfg 2 is read only in the modes "classifier-free" and "classifier-free+classifier", not in "conditional+classifier". Pick one of those with --mode, or leave --cfg out.'],
  ])('explains %o before sampling', async (overrides, message) => {
    await expect(runSampleCommand(options({ ...overrides, out: path.join(out, 'refused') }))).rejects.toThrow(message);
  });

  it('picks ddim50 for --sampler ddim on the built-in model, whose default spacing is plain "50"', async () => {
    const drawn = await runSampleCommand(options({ model: BUILT_IN, class: 'sneaker', sampler: 'ddim', count: 1, batch: 1, out: path.join(out, 'builtin') }));
    expect(drawn.request).toMatchObject({ sampler: 'ddim', steps: 'ddim50', mode: 'conditional+classifier' });
    expect(drawn.result.samples).toHaveLength(1);
  });
});
