/**
 * The default model opened when the studio starts: the first model listed has its sessions open
 * before any request, a model that does not open is a model problem rather than a crash, and a
 * studio closed while the model opens closes cleanly. Real gallery files, real ONNX graphs.
 */
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_MODEL_FOLDERS, copyModel } from '../inference/test-models';
import { openStudio, removeFolder, request, testModelFolder, type StudioFixture } from './studio-fixture';

const opened: StudioFixture[] = [];
const cleanups: (() => Promise<void>)[] = [];

function studioOn(modelDirs: string[], dataDir = mkdtempSync(path.join(tmpdir(), 'gds-preload-'))): StudioFixture {
  const studio = openStudio(dataDir, modelDirs);
  opened.push(studio);
  return studio;
}

async function activeProviders(studio: StudioFixture): Promise<Record<string, string | null>> {
  return Object.fromEntries((await studio.service.listModels()).map((model) => [model.id, model.activeProvider]));
}

/** A copy of the linear test model whose UNet graph no longer matches the sha256 in its manifest. */
async function damagedLinearModel(): Promise<{ dir: string; restore(): Promise<void> }> {
  const copy = await copyModel(testModelFolder);
  cleanups.push(copy.remove);
  const unet = path.join(copy.dir, 'unet.onnx');
  const original = await readFile(unet);
  await writeFile(unet, Buffer.concat([original, Buffer.from([0])]));
  return { dir: copy.dir, restore: () => writeFile(unet, original) };
}

afterEach(async () => {
  for (const studio of opened.splice(0)) {
    await studio.close();
    removeFolder(studio.dataDir);
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('the default model, opened when the studio starts', () => {
  it('has the first listed model open, on the provider it really runs on, before any request names it', async () => {
    const studio = studioOn(TEST_MODEL_FOLDERS);
    expect(await activeProviders(studio)).toEqual({ 'linear-8px': null, 'nan-below-t40': null });

    await studio.service.preloadDefaultModel();

    expect(await activeProviders(studio)).toEqual({ 'linear-8px': 'cpu', 'nan-below-t40': null });
    expect(studio.service.gallery.models.get('linear-8px')?.record.id).toBe('linear-8px');
    expect(await studio.service.listModelProblems()).toEqual([]);
  });

  it('answers the page asking for the same model while it opens with the same load, and draws the first run on it', async () => {
    const studio = studioOn([testModelFolder]);
    const preload = studio.service.preloadDefaultModel();
    const loaded = await studio.service.loadModel({ modelId: 'linear-8px', provider: 'auto' });
    await preload;
    expect(loaded).toMatchObject({ modelId: 'linear-8px', requestedProvider: 'auto', activeProvider: 'cpu' });

    const { jobId } = await studio.service.startRun({ request: request({ provider: 'auto', seeds: [5, 6] }), recordTrajectory: false });
    const finished = (await studio.finished(jobId)).at(-1);
    expect(finished).toMatchObject({ type: 'finished', status: 'completed' });
    expect(studio.events.filter((event) => event.type === 'sample' && event.jobId === jobId).map((event) => event.type === 'sample' && event.sample.seed)).toEqual([5, 6]);
  });

  it('keeps a default model that does not open as a model problem, with its reason, and the studio goes on with the others', async () => {
    const damaged = await damagedLinearModel();
    const others = TEST_MODEL_FOLDERS.filter((dir) => dir !== testModelFolder);
    const studio = studioOn([damaged.dir, ...others]);

    await expect(studio.service.preloadDefaultModel()).resolves.toBeUndefined();

    const problems = await studio.service.listModelProblems();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.folder).toBe(damaged.dir);
    expect(problems[0]!.message).toMatch(/^Test model linear-8px could not be opened when the studio started: The file unet\.onnx in .* is damaged or was changed: .* Copy the model again\.$/);
    // Still offered, so the page names the same reason when it asks for it.
    expect((await studio.service.listModels()).map((model) => model.id)).toEqual(['linear-8px', 'nan-below-t40']);
    await expect(studio.service.loadModel({ modelId: 'linear-8px', provider: 'auto' })).rejects.toThrow(/unet\.onnx .* is damaged or was changed/);
    expect((await studio.service.loadModel({ modelId: 'nan-below-t40', provider: 'cpu' })).activeProvider).toBe('cpu');
  });

  it('drops the problem once the model, mended, opens', async () => {
    const damaged = await damagedLinearModel();
    const studio = studioOn([damaged.dir]);
    await studio.service.preloadDefaultModel();
    expect(await studio.service.listModelProblems()).toHaveLength(1);

    await damaged.restore();
    expect((await studio.service.loadModel({ modelId: 'linear-8px', provider: 'auto' })).activeProvider).toBe('cpu');
    expect(await studio.service.listModelProblems()).toEqual([]);
  });

  it('has nothing to open, and no problem to report, when no model is installed', async () => {
    const studio = studioOn([]);
    await studio.service.preloadDefaultModel();
    expect(await studio.service.listModelProblems()).toEqual([]);
  });

  // Closing at each of these points lands in a different stage of the load: before the scan, while
  // the manifests are read, while the worker starts, while it opens the graphs.
  it.each([0, 1, 3, 10, 40])('closes cleanly when the studio is closed %i event-loop turns into opening the model, and its gallery opens again', async (turns) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-preload-close-'));
    cleanups.push(async () => removeFolder(dataDir));
    const first = openStudio(dataDir, [testModelFolder]);
    const preload = first.service.preloadDefaultModel();
    for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
    await first.close();
    await expect(preload).resolves.toBeUndefined();
    // A load that reaches the engine after the close is refused rather than given a worker nobody stops.
    await expect(first.service.loadModel({ modelId: 'linear-8px', provider: 'cpu' })).rejects.toThrow('The engine was closed.');

    const second = studioOn([testModelFolder], dataDir);
    await second.service.preloadDefaultModel();
    expect(await activeProviders(second)).toEqual({ 'linear-8px': 'cpu' });
    const { jobId } = await second.service.startRun({ request: request({ seeds: [7] }), recordTrajectory: false });
    expect((await second.finished(jobId)).at(-1)).toMatchObject({ type: 'finished', status: 'completed' });
  });
});
