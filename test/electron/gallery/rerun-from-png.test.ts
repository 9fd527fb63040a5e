/**
 * The promise of a recipe: a PNG exported from the gallery, imported again, re-runs to
 * the same pixels on the same provider. Runs the real engine on the small test model.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { NOISE_ALGORITHM } from '../../../common/diffusion/rng';
import { modelSha256 } from '../../../common/models/model-identity';
import { createEngine } from '../../../electron/inference';
import { newSampleFrom, openGallery } from '../../../electron/gallery';
import { decodePng } from '../../../electron/png/image';
import { request, TEST_MODEL_FOLDERS } from '../inference/test-models';
import { temporaryFolder } from './gallery-fixtures';

const engine = createEngine({ modelFolders: TEST_MODEL_FOLDERS, threads: 1 });
const folder = temporaryFolder();
afterAll(async () => {
  await engine.close();
  folder.remove();
});

describe('re-running an exported PNG', () => {
  it('gives back the stored image exactly', async () => {
    const gallery = openGallery(join(folder.dir, 'gallery.sqlite'));
    const model = await engine.loadModel('linear-8px', 'cpu');
    gallery.models.register(model.manifest, modelSha256(model.manifest));

    const original = request({ mode: 'conditional+classifier', sampler: 'ddpm', steps: '20', eta: 0, seeds: [7, 8, 9], batchSize: 3, scale: 3 });
    const run = gallery.runs.start({ request: original, provider: model.provider, noiseAlgorithm: NOISE_ALGORITHM, appVersion: '0.1.0' });
    const stored = (await engine.sample(original, { trajectory: true })).samples.map((sample) => gallery.samples.add(run.id, newSampleFrom(sample)));
    gallery.runs.end(run.id, 'completed');
    const middle = stored[1];
    if (middle === undefined) throw new Error('the run stored no second sample');

    const imported = gallery.importPng(gallery.exportPng(middle.id).png, undefined, NOISE_ALGORITHM);
    expect(imported.warning).toBeNull();
    expect(imported.request).toEqual({ ...original, seeds: [8], batchSize: 1, provider: 'cpu' });

    const rerun = await engine.sample(imported.request);
    const again = gallery.samples.add(run.id, newSampleFrom(rerun.samples[0] as Parameters<typeof newSampleFrom>[0]));
    const pixels = (id: number) => decodePng(gallery.samples.image(id) as Uint8Array).data;
    expect(pixels(again.id)).toEqual(pixels(middle.id));
    expect(gallery.samples.detail(middle.id)?.trajectory).toHaveLength(20);
    gallery.close();
  });
});
