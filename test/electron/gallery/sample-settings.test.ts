import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RecordedRunRequest, RunRequest } from '../../../common/contract/run-request';
import { openGallery } from '../../../electron/gallery';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
afterEach(() => {
  vi.restoreAllMocks();
  folder.remove();
});

describe('storing the samples of a run with many seeds', () => {
  it('reads the run request once, not once per sample, and copies its settings onto every row', () => {
    folder = temporaryFolder();
    const gallery = openGallery(join(folder.dir, 'gallery.sqlite'));
    gallery.models.register(testManifest(), 'b'.repeat(64));
    const seeds = Array.from({ length: 1024 }, (_, i) => i);
    const run = gallery.runs.start({
      request: testRequest({ seeds, classIndex: 3, scale: 2.5, sampler: 'ddpm', steps: '50', batchSize: 8 }),
      provider: 'cpu',
      noiseAlgorithm: NOISE_ALGORITHM,
      appVersion: APP_VERSION,
    });
    const strictParse = vi.spyOn(RunRequest, 'parse');
    const recordedParse = vi.spyOn(RecordedRunRequest, 'parse');
    const recordedSafeParse = vi.spyOn(RecordedRunRequest, 'safeParse');

    const png = testPng(8, 1);
    const added = seeds.slice(0, 64).map((seed) => gallery.samples.add(run.id, { seed, png, confidence: 0.5 }));

    expect(strictParse).not.toHaveBeenCalled();
    expect(recordedParse).not.toHaveBeenCalled();
    expect(recordedSafeParse).not.toHaveBeenCalled();
    expect(added).toHaveLength(64);
    for (const [index, sample] of added.entries()) {
      expect(sample).toMatchObject({ runId: run.id, modelId: 'tiny-test', classIndex: 3, scale: 2.5, sampler: 'ddpm', steps: '50', seed: index, mode: 'conditional' });
    }
    // The spy does see the parse a run record needs, so the zero counts above are real.
    gallery.runs.get(run.id);
    expect(recordedParse).toHaveBeenCalledTimes(1);
    expect(gallery.samples.list({ scaleMin: 2.5, scaleMax: 2.5, classIndex: 3, limit: 100 }).items).toHaveLength(64);
    gallery.close();
  });

  it('refuses a sample for a run that is not in the gallery, and one whose run was deleted since', () => {
    folder = temporaryFolder();
    const file = join(folder.dir, 'gallery.sqlite');
    const gallery = openGallery(file);
    gallery.models.register(testManifest(), 'b'.repeat(64));
    expect(() => gallery.samples.add(77, { seed: 1, png: testPng(8) })).toThrow('Run 77 is not in the gallery; start the run before adding its samples.');
    const run = gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    gallery.samples.add(run.id, { seed: 1, png: testPng(8) });

    // Another program deletes the run while this gallery still knows its settings.
    const other = new Database(file);
    other.pragma('foreign_keys = ON');
    other.prepare('DELETE FROM runs WHERE id = ?').run(run.id);
    other.close();
    expect(() => gallery.samples.add(run.id, { seed: 2, png: testPng(8) })).toThrow(
      `Run ${run.id} is not in the gallery any more (it was deleted); its sample was not stored.`,
    );
    expect(gallery.samples.list({}).items).toEqual([]);
    gallery.close();
  });
});
