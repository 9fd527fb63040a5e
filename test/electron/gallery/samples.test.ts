import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { newSampleFrom, openGallery, type Gallery } from '../../../electron/gallery';
import { decodePng, encodePng } from '../../../electron/png/image';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testImage, testManifest, testPng, testRequest } from './gallery-fixtures';
import type { RunRequest } from '../../../common/contract/run-request';

let folder: ReturnType<typeof temporaryFolder>;
let gallery: Gallery;
let file: string;

beforeEach(() => {
  folder = temporaryFolder();
  file = join(folder.dir, 'data', 'gallery.sqlite');
  gallery = openGallery(file);
  gallery.models.register(testManifest('tiny-test'), 'b'.repeat(64));
  gallery.models.register(testManifest('other-model', 5), 'c'.repeat(64));
});

afterEach(() => {
  gallery.close();
  folder.remove();
});

function startRun(overrides: Partial<RunRequest> = {}) {
  return gallery.runs.start({ request: testRequest(overrides), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
}

describe('writing samples', () => {
  it('opens the file in WAL mode with foreign keys on', () => {
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const run = startRun();
    expect(() => gallery.samples.add(run.id + 1000, { seed: 1, png: testPng(32) })).toThrow(/Run \d+ is not in the gallery/);
  });

  it('stores each sample with its settings, image and trajectory, and reads it back with its run', () => {
    const run = startRun({ classIndex: 3, scale: 2.5, sampler: 'ddpm', steps: '50' });
    const png = testPng(32, 9);
    const predX0 = Uint8Array.from({ length: 32 * 32 }, (_, k) => k % 256);
    const step = { t: 999, xt: new Float32Array(32 * 32).fill(0.5), predX0, probability: 0.1, gradientNorm: 3.5, classifier: null };
    const added = gallery.samples.add(run.id, {
      seed: 42,
      png,
      confidence: 0.93,
      trajectory: [{ index: 0, ...step }, { index: 1, ...step, t: 959, probability: 0.4 }],
    });
    expect(added).toMatchObject({ runId: run.id, modelId: 'tiny-test', classIndex: 3, scale: 2.5, sampler: 'ddpm', steps: '50', seed: 42 });
    expect(added).toMatchObject({ width: 32, height: 32, confidence: 0.93, favorite: false, tags: [], notes: '', hasThumbnail: false });
    expect(Buffer.from(gallery.samples.image(added.id) as Uint8Array)).toEqual(Buffer.from(png));

    const detail = gallery.samples.detail(added.id);
    expect(detail?.run).toMatchObject({ id: run.id, status: 'running', provider: 'cpu', sampleCount: 1, modelSha256: 'b'.repeat(64) });
    expect(detail?.trajectory).toEqual([
      { index: 0, t: 999, probability: 0.1, gradientNorm: 3.5, classifierView: null, evaluatorProbability: null },
      { index: 1, t: 959, probability: 0.4, gradientNorm: 3.5, classifierView: null, evaluatorProbability: null },
    ]);
    expect(Array.from(decodePng(gallery.trajectories.image(added.id, 1, 'x0') as Uint8Array).data.filter((_, i) => i % 4 === 0))).toEqual(Array.from(predX0));
    expect(gallery.runs.end(run.id, 'completed').status).toBe('completed');
    // A run keeps its first ending.
    expect(gallery.runs.end(run.id, 'cancelled').status).toBe('completed');
  });

  it('stores a sample as the engine hands it over: interleaved grey pixels and a float trajectory', () => {
    const run = startRun();
    const [height, width] = [2, 3];
    const pixels = Uint8Array.from([0, 50, 100, 150, 200, 255]);
    const xt = Float32Array.from([-1, -0.5, 0, 0.5, 1, 1, /* step 2 */ 1, 1, 1, 1, 1, 1]);
    const sample = gallery.samples.add(
      run.id,
      newSampleFrom({
        seed: 11, channels: 1, height, width, pixels, classProbability: 0.75,
        trajectory: { t: Int32Array.from([999, 499]), xt, predX0: xt, classProbability: Float32Array.from([0.25, 0.5]), gradNorm: null, classifier: null },
      }),
    );
    expect(sample).toMatchObject({ seed: 11, width: 3, height: 2, confidence: 0.75 });
    const stored = decodePng(gallery.samples.image(sample.id) as Uint8Array);
    expect(Array.from(stored.data.filter((_, i) => i % 4 === 1))).toEqual(Array.from(pixels));
    expect(gallery.trajectories.steps(sample.id)).toEqual([
      { index: 0, t: 999, probability: 0.25, gradientNorm: null, classifierView: null, evaluatorProbability: null },
      { index: 1, t: 499, probability: 0.5, gradientNorm: null, classifierView: null, evaluatorProbability: null },
    ]);
    const firstXt = decodePng(gallery.trajectories.image(sample.id, 0, 'xt') as Uint8Array);
    expect(Array.from(firstXt.data.filter((_, i) => i % 4 === 0))).toEqual([0, 63, 127, 191, 255, 255]);
  });

  it('keeps a thumbnail of at most 128 pixels for large images only', () => {
    const run = startRun();
    const large = gallery.samples.add(run.id, { seed: 1, png: testPng(256) });
    const small = gallery.samples.add(run.id, { seed: 2, png: testPng(32) });
    expect(large.hasThumbnail).toBe(true);
    const thumbnail = decodePng(gallery.samples.thumbnail(large.id) as Uint8Array);
    expect([thumbnail.width, thumbnail.height]).toEqual([128, 128]);
    // Each thumbnail pixel is the mean of a 2×2 block of the original.
    const original = testImage(256);
    const block = [0, 1, 256, 257].map((offset) => original.data[offset * 4] as number);
    expect(thumbnail.data[0]).toBe(Math.round(block.reduce((a, b) => a + b, 0) / 4));
    expect(small.hasThumbnail).toBe(false);
    expect(Buffer.from(gallery.samples.thumbnail(small.id) as Uint8Array)).toEqual(Buffer.from(gallery.samples.image(small.id) as Uint8Array));
  });
});

describe('finishing a stopped run', () => {
  it('lists the seeds without a sample, repeated seeds counted, in request order', () => {
    const run = startRun({ seeds: [5, 9, 5, 2, 7], batchSize: 1 });
    gallery.samples.add(run.id, { seed: 5, png: testPng(32) });
    gallery.samples.add(run.id, { seed: 2, png: testPng(32) });
    expect(gallery.runs.missingSeeds(run.id)).toEqual([9, 5, 7]);
    expect(() => gallery.runs.missingSeeds(run.id + 1000)).toThrow(/is not in the gallery/);
  });

  it('reopens an interrupted, cancelled or failed run for this process, and nothing else', () => {
    for (const status of ['interrupted', 'cancelled', 'failed'] as const) {
      const run = startRun();
      const raw = new Database(file);
      raw.prepare('UPDATE runs SET status = ?, error = ?, ended_at = 1, owner_pid = 1 WHERE id = ?').run(status, 'stopped', run.id);
      raw.close();
      const reopened = gallery.runs.reopen(run.id);
      expect(reopened).toMatchObject({ id: run.id, status: 'running', error: null, endedAt: null, startedAt: run.startedAt });
      expect(() => gallery.runs.reopen(run.id)).toThrow(`Run ${run.id} is running; only a stopped run`);
      // Owned by this process again: a restart that finds it still running leaves it be.
      expect(gallery.runs.markInterrupted()).toEqual([]);
      gallery.runs.end(run.id, 'completed');
      expect(() => gallery.runs.reopen(run.id)).toThrow(`Run ${run.id} is completed`);
    }
  });
});

describe('gallery queries', () => {
  function fill() {
    const ids: number[] = [];
    const runs = [
      startRun({ classIndex: 1, scale: 0, sampler: 'ddim' }),
      startRun({ classIndex: 2, scale: 4, sampler: 'ddpm' }),
      startRun({ modelId: 'other-model', classIndex: 1, scale: 10, sampler: 'ddim' }),
    ];
    for (let i = 0; i < 30; i++) {
      const run = runs[i % 3];
      if (run === undefined) throw new Error('unreachable');
      ids.push(gallery.samples.add(run.id, { seed: i, png: testPng(8, i) }).id);
    }
    return ids;
  }

  it('pages newest first with a keyset cursor and no repeats or gaps', () => {
    const ids = fill();
    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = gallery.samples.list({ limit: 7, before });
      seen.push(...page.items.map((item) => item.id));
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by model, class, scale range, sampler, favorite, tag and notes text', () => {
    const ids = fill();
    const idsOf = (query: Parameters<Gallery['samples']['list']>[0]) => gallery.samples.list({ limit: 500, ...query }).items.map((s) => s.id);
    const every = (k: number) => ids.filter((_, i) => i % 3 === k).reverse();

    expect(idsOf({ modelId: 'other-model' })).toEqual(every(2));
    expect(idsOf({ modelId: 'tiny-test', classIndex: 1 })).toEqual(every(0));
    expect(idsOf({ classIndex: 1 }).length).toBe(20);
    expect(idsOf({ scaleMin: 1, scaleMax: 5 })).toEqual(every(1));
    expect(idsOf({ scaleMin: 4 }).length).toBe(20);
    expect(idsOf({ sampler: 'ddpm' })).toEqual(every(1));

    const [a, b, c] = ids as [number, number, number];
    gallery.samples.setFavorite(a, true);
    gallery.samples.setFavorite(c, true);
    expect(idsOf({ favorite: true })).toEqual([c, a]);
    expect(idsOf({ favorite: false }).length).toBe(28);

    gallery.samples.addTag(b, 'keeper');
    gallery.samples.setTags(c, ['keeper', ' print ', 'print', '']);
    expect(gallery.samples.get(c)?.tags).toEqual(['keeper', 'print']);
    expect(idsOf({ tag: 'keeper' })).toEqual([c, b]);
    expect(idsOf({ tag: 'keeper', favorite: true })).toEqual([c]);
    gallery.samples.removeTag(c, 'keeper');
    expect(idsOf({ tag: 'keeper' })).toEqual([b]);

    gallery.samples.setNotes(a, 'Nice 100% sharp Sneaker');
    gallery.samples.setNotes(b, 'blurry');
    expect(idsOf({ notesText: 'SNEAKER' })).toEqual([a]);
    expect(idsOf({ notesText: '100%' })).toEqual([a]);
    expect(idsOf({ notesText: '%' })).toEqual([a]);
    expect(idsOf({ notesText: '_' })).toEqual([]);
  });

  it('counts samples per class under the other filters', () => {
    fill();
    expect(gallery.samples.countsByClass()).toEqual([{ classIndex: 1, count: 20 }, { classIndex: 2, count: 10 }]);
    expect(gallery.samples.countsByClass({ modelId: 'tiny-test' })).toEqual([{ classIndex: 1, count: 10 }, { classIndex: 2, count: 10 }]);
    expect(gallery.samples.facets()).toMatchObject({
      total: 30,
      models: [{ modelId: 'other-model', count: 10 }, { modelId: 'tiny-test', count: 20 }],
      classes: [{ modelId: 'other-model', classes: [{ classIndex: 1, count: 10 }] }, { modelId: 'tiny-test' }],
      tags: [],
    });
  });

  it('deletes a sample with its image, tags and trajectory', () => {
    const run = startRun();
    const step = { index: 0, t: 10, xt: new Float32Array(64), predX0: new Uint8Array(64), probability: null, gradientNorm: null, classifier: null };
    const sample = gallery.samples.add(run.id, { seed: 1, png: testPng(256), trajectory: [step] });
    gallery.samples.addTag(sample.id, 'x');
    expect(gallery.samples.delete(sample.id)).toBe(true);
    expect(gallery.samples.delete(sample.id)).toBe(false);
    const raw = new Database(file, { readonly: true });
    for (const table of ['samples', 'sample_images', 'sample_tags', 'trajectory_steps']) {
      expect(raw.prepare(`SELECT count(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
    }
    raw.close();
    expect(gallery.samples.detail(sample.id)).toBeUndefined();
    expect(() => gallery.samples.setFavorite(sample.id, true)).toThrow(/not in the gallery/);
  });
});

describe('presets and evaluations', () => {
  it('saves presets by name, case-insensitively unique', () => {
    const { seeds: _seeds, ...settings } = testRequest();
    const first = gallery.presets.save('Sneakers', settings);
    const second = gallery.presets.save('sneakers', { ...settings, scale: 9 });
    expect(second.id).toBe(first.id);
    expect(gallery.presets.list().map((p) => p.settings.scale)).toEqual([9]);
    expect(() => gallery.presets.save('  ', settings)).toThrow(/needs a name/);
    expect(gallery.presets.delete(first.id)).toBe(true);
    expect(gallery.presets.list()).toEqual([]);
  });

  it('keeps evaluation runs, their samples per scale and their metrics', () => {
    const evaluation = gallery.evaluations.create({
      modelId: 'tiny-test', classes: [1, 2], scales: [0, 4], mode: 'conditional', sampler: 'ddim', steps: 'ddim25', samplesPerScale: 8,
    });
    gallery.evaluations.setStatus(evaluation.id, 'running');
    const run = gallery.runs.start({
      request: testRequest({ classIndex: 1, scale: 4 }), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION, evaluationId: evaluation.id,
    });
    const [five, three] = [5, 3, 5].map((seed) => gallery.samples.add(run.id, { seed, png: encodePng(testImage(8, seed)) }).id);
    expect(gallery.evaluations.finishedSeeds(evaluation.id, 4, 1)).toEqual([3, 5]);
    expect(gallery.evaluations.finishedSamples(evaluation.id, 4, 1)).toEqual([{ seed: 3, sampleId: three }, { seed: 5, sampleId: five }]);
    expect(gallery.evaluations.finishedSeeds(evaluation.id, 4, 2)).toEqual([]);
    expect(gallery.evaluations.finishedSeeds(evaluation.id, 0, 1)).toEqual([]);
    const result = { scale: 4, sampleCount: 8, fid: 12.5, inceptionScore: 3.1, precision: 0.8, recall: 0.4, classAccuracy: 0.9 };
    gallery.evaluations.saveResult(evaluation.id, result);
    gallery.evaluations.saveResult(evaluation.id, { ...result, fid: 11 });
    const done = gallery.evaluations.setStatus(evaluation.id, 'completed');
    expect(done).toMatchObject({ status: 'completed', results: [{ ...result, fid: 11 }] });
    expect(done.endedAt).not.toBeNull();
    expect(gallery.runs.get(run.id)?.evaluationId).toBe(evaluation.id);
  });
});
