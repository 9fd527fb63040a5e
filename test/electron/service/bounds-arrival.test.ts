/**
 * Requests are checked against the model they name when they arrive: an evaluation, a preset or
 * an imported recipe that could never run is refused at once with a sentence saying what is
 * allowed, and nothing is recorded. Real gallery file, real ONNX models.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECIPE_FORMAT, type Recipe } from '../../../common/contract/recipe';
import type { RunRequest } from '../../../common/contract/run-request';
import { NOISE_ALGORITHM } from '../../../common/diffusion/rng';
import { ModelManifest } from '../../../common/models/manifest';
import { modelFingerprint } from '../../../common/models/model-identity';
import { importRecipe, RecipeReadError } from '../../../electron/gallery';
import { withRecipe } from '../../../electron/png/recipe-chunk';
import { openStudio } from '../../../electron/service/open-studio';
import { invokeOperation } from '../../../electron/service/invoke';
import { checkPresetAgainstModel, checkQueueRoom, MAX_QUEUED_JOBS } from '../../../electron/service/request-checks';
import { UserFacingError } from '../../../electron/service/user-facing-error';
import { testPng } from '../gallery/gallery-fixtures';

const EVALUATED_MODEL = path.join(import.meta.dirname, '../../fixtures/evaluation-models/evaluated-8px');
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(EVALUATED_MODEL, 'manifest.json'), 'utf8')));
const data = mkdtempSync(path.join(tmpdir(), 'gds-bounds-'));
const service = openStudio({ dataDir: data, modelDirs: [EVALUATED_MODEL], threads: 1, appVersion: 'test' });
afterAll(async () => {
  await service.close();
  rmSync(data, { recursive: true, force: true });
});

const evaluation = { modelId: 'evaluated-8px', classes: [0, 1], scales: [0, 2], mode: 'conditional', sampler: 'ddim', steps: 'ddim5', samplesPerScale: 5 };

describe('evaluations on arrival', () => {
  it.each([
    [{ steps: 'banana' }, 'Steps "banana" cannot be used with this model (T = 100): it is neither "ddimN" nor comma-separated whole numbers. Use a count from 1 to 100 such as "50", "ddim50", or section counts such as "10,15,20".'],
    [{ steps: 'ddim999999' }, 'Steps "ddim999999" cannot be used with this model (T = 100): the step count must be between 1 and 100. Use a count from 1 to 100 such as "50", "ddim50", or section counts such as "10,15,20".'],
    [{ classes: [0, 99] }, 'Class 99 is out of range: "Test model evaluated-8px" has classes 0 to 2.'],
  ])('refuses %j with what is allowed, and records nothing', async (change, sentence) => {
    const start = invokeOperation(service, 'evaluation:start', { ...evaluation, ...change });
    await expect(start).rejects.toThrow(UserFacingError);
    await expect(start).rejects.toThrow(`These evaluation settings cannot run: ${sentence}`);
    expect(await service.listEvaluations()).toEqual([]);
  });

  it('refuses settings past the contract bounds with the limit, before looking at the model', async () => {
    await expect(invokeOperation(service, 'evaluation:start', { ...evaluation, samplesPerScale: 2 ** 53 - 1 })).rejects.toThrow(
      'the samples per scale must be a whole number from 1 to 50,000 (got 9,007,199,254,740,991)',
    );
    await expect(service.evaluations.startEvaluation({ ...evaluation, modelId: 'm'.repeat(1024 * 1024) } as never)).rejects.toThrow(
      /^The evaluation settings are not valid: modelId: a model id has at most 200 characters \(got 1,048,576, starting "m{60}…"\); shorten it\.$/,
    );
    expect(await service.listEvaluations()).toEqual([]);
  });
});

describe('presets on arrival', () => {
  it('refuses settings the model cannot run, with the planner\'s sentence', () => {
    const settings = { modelId: 'evaluated-8px', classIndex: 1, mode: 'conditional', scale: 2, sampler: 'ddim', steps: 'ddim999', eta: 0, clipDenoised: true, batchSize: 4, provider: 'auto' } as const;
    expect(() => checkPresetAgainstModel(manifest, settings)).toThrow(/^This preset cannot be saved: Steps "ddim999" cannot be used with this model \(T = 100\): the step count must be between 1 and 100/);
    expect(() => checkPresetAgainstModel(manifest, { ...settings, classIndex: 3 })).toThrow('Class 3 is out of range');
    expect(() => checkPresetAgainstModel(manifest, { ...settings, steps: 'ddim10' })).not.toThrow();
  });

  it('is refused by the service, which keeps nothing, and saved when the model can run it', async () => {
    const settings = { modelId: 'evaluated-8px', classIndex: 1, mode: 'conditional', scale: 2, sampler: 'ddim', steps: 'ddim999', eta: 0, clipDenoised: true, batchSize: 4, provider: 'auto' } as const;
    await expect(invokeOperation(service, 'presets:save', { name: 'too many steps', settings })).rejects.toThrow(/^This preset cannot be saved: Steps "ddim999"/);
    await expect(invokeOperation(service, 'presets:save', { name: 'elsewhere', settings: { ...settings, modelId: 'no-such-model', steps: 'ddim10' } })).rejects.toThrow(
      /There is no model "no-such-model" in this studio/,
    );
    expect(await service.listPresets()).toEqual([]);
    await invokeOperation(service, 'presets:save', { name: 'fine', settings: { ...settings, steps: 'ddim10' } });
    expect((await service.listPresets()).map((preset) => preset.name)).toEqual(['fine']);
  });
});

describe('recipes on import', () => {
  const recipe: Recipe = {
    format: RECIPE_FORMAT, model: { id: 'evaluated-8px', sha256: modelFingerprint(manifest).sha256 }, classIndex: 1, mode: 'conditional', scale: 2,
    sampler: 'ddim', steps: 'ddim10', eta: 0, seed: 7, clipDenoised: true, noiseAlgorithm: NOISE_ALGORITHM, provider: 'cpu', appVersion: 'test',
  };
  const installed = () => ({ ...modelFingerprint(manifest), manifest });

  it('refuses steps the installed model cannot take', () => {
    const png = withRecipe(testPng(8), { ...recipe, steps: 'ddim999999' });
    expect(() => importRecipe(png, installed)).toThrow(RecipeReadError);
    expect(() => importRecipe(png, installed)).toThrow(
      /^The recipe's settings cannot run on the installed "evaluated-8px": Steps "ddim999999" cannot be used with this model \(T = 100\): the step count must be between 1 and 100/,
    );
    expect(importRecipe(withRecipe(testPng(8), recipe), installed).warning).toBeNull();
  });

  it('warns about a recipe made with another noise generator, also through the service', async () => {
    const png = withRecipe(testPng(8), { ...recipe, noiseAlgorithm: 'xorshift128+/v0' });
    const sentence = `The image was made with noise generator "xorshift128+/v0"; this studio draws noise with "${NOISE_ALGORITHM}", so the same seed gives a different image.`;
    expect(importRecipe(png, installed).warning).toBe(sentence);
    const read = await service.readRecipe({ png: Buffer.from(png).toString('base64') });
    expect(read.warning).toBe(sentence);
    expect(read.request.seeds).toEqual([7]);
  });

  it('refuses, through the service, steps the installed model cannot take', async () => {
    const png = withRecipe(testPng(8), { ...recipe, steps: 'ddim999999' });
    await expect(service.readRecipe({ png: Buffer.from(png).toString('base64') })).rejects.toThrow(
      /^The recipe's settings cannot run on the installed "evaluated-8px": Steps "ddim999999"/,
    );
  });
});

describe('the service queue', () => {
  it('holds at most MAX_QUEUED_JOBS waiting jobs and says what to do when full', () => {
    expect(() => checkQueueRoom(MAX_QUEUED_JOBS - 16, 16)).not.toThrow();
    expect(() => checkQueueRoom(MAX_QUEUED_JOBS - 15, 16)).toThrow(
      'The queue holds at most 256 jobs and 241 are waiting, so these 16 cannot be added; wait for some to finish or cancel a few, then try again.',
    );
  });

  it('refuses a sweep that would pass the limit, and queues nothing of it', async () => {
    const request: RunRequest = { modelId: 'evaluated-8px', classIndex: 0, mode: 'conditional', scale: 0, sampler: 'ddim', steps: 'ddim5', eta: 0, clipDenoised: true, seeds: [1], batchSize: 1, provider: 'cpu' };
    const started: number[] = [];
    const stop = service.onRunEvent((event) => {
      if (event.type === 'started') started.push(event.jobId);
    });
    try {
      const handles = [];
      for (let i = 0; i < MAX_QUEUED_JOBS / 16; i++) handles.push(await service.startSweep({ request, scales: Array.from({ length: 16 }, (_, k) => k), recordTrajectory: false }));
      const queuedJobs = handles.flatMap((handle) => handle.jobs.map((job) => job.jobId));
      // The first job may already have left the queue to run; at most one more sweep's worth of room is left then.
      await expect(service.startSweep({ request, scales: [0, 1], recordTrajectory: false })).rejects.toThrow(/^The queue holds at most 256 jobs and 25\d are waiting/);
      for (const jobId of queuedJobs) await service.cancelRun({ jobId });
      expect(started.every((jobId) => queuedJobs.includes(jobId))).toBe(true);
    } finally {
      stop();
    }
  });
});
