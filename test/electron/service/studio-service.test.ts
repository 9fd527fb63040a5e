import Database from 'better-sqlite3';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../common/contract/studio-api';
import { galleryFile } from '../../../electron/gallery';
import { invokeOperation } from '../../../electron/service/invoke';
import { request, studioForThisFile } from './studio-fixture';

const studio = studioForThisFile();

function ofType<T extends RunEvent['type']>(events: RunEvent[], type: T): Extract<RunEvent, { type: T }>[] {
  return events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);
}

describe('StudioService', () => {
  it('lists the model with the modes its graphs allow', async () => {
    const [model] = await studio.service.listModels();
    expect(model?.id).toBe('linear-8px');
    expect(model?.classNames).toEqual(['circle', 'square', 'cross']);
    // A class-conditional UNet with a null label and a classifier allows every mode, the classifier-free ones too.
    expect(model?.modes).toEqual(['conditional', 'unconditional+classifier', 'conditional+classifier', 'classifier-free', 'classifier-free+classifier']);
  });

  it('loads a model and reports the provider that really runs it', async () => {
    const loaded = await studio.service.loadModel({ modelId: 'linear-8px', provider: 'cpu' });
    expect(loaded).toEqual({ modelId: 'linear-8px', requestedProvider: 'cpu', activeProvider: 'cpu', fallbackNote: null, unetPrecision: 'fp32' });
  });

  it('runs a job: started, steps with previews, each sample written as it finishes, then finished', async () => {
    const { jobId } = await studio.service.startRun({ request: request(), recordTrajectory: true });
    const events = await studio.finished(jobId);
    const started = ofType(events, 'started')[0]!;
    expect(started).toMatchObject({ totalSteps: 10, sampleCount: 3, activeProvider: 'cpu', sweepId: null });
    const steps = ofType(events, 'step');
    // Every step may be reported; the first and the last always are, in order.
    const numbers = steps.map((step) => step.step);
    expect(numbers[0]).toBe(1);
    expect(numbers.at(-1)).toBe(10);
    expect(numbers.every((step, i) => i === 0 || step > numbers[i - 1]!)).toBe(true);
    const lastPreviews = steps.at(-1)!.previews;
    expect(lastPreviews.map((preview) => preview.seed)).toEqual([11, 12, 13]);
    expect(Buffer.from(lastPreviews[0]!.pixels, 'base64')).toHaveLength(8 * 8);
    const samples = ofType(events, 'sample').map((event) => event.sample);
    expect(samples.map((sample) => sample.seed)).toEqual([11, 12, 13]);
    expect(samples.every((sample) => sample.runId === started.runId && sample.scale === 2 && sample.classIndex === 1)).toBe(true);
    expect(ofType(events, 'finished')[0]).toMatchObject({ status: 'completed', sampleCount: 3, message: null });

    const detail = await studio.service.getSample({ sampleId: samples[0]!.id });
    expect(detail.run.status).toBe('completed');
    expect(detail.run.request).toMatchObject({ steps: 'ddim10', sampler: 'ddim', mode: 'unconditional+classifier' });
    expect(detail.trajectory).toHaveLength(10);
    expect(detail.trajectory[0]!.t).toBeGreaterThan(detail.trajectory[9]!.t);
    expect(detail.trajectory.every((step) => step.probability !== null && step.gradientNorm !== null)).toBe(true);

    const png = await studio.service.readImage({ kind: 'sample', sampleId: samples[0]!.id });
    const decoded = PNG.sync.read(Buffer.from(png!));
    expect([decoded.width, decoded.height]).toEqual([8, 8]);
    // The last preview is the final x̂₀ of seed 11; the stored sample is that image.
    expect(await studio.service.readImage({ kind: 'xt', sampleId: samples[0]!.id, step: 9 })).not.toBeNull();
    expect(await studio.service.readImage({ kind: 'x0', sampleId: samples[0]!.id, step: 99 })).toBeNull();
  });

  it('gives a seed the same pixels alone as in a batch', async () => {
    const { jobId } = await studio.service.startRun({ request: request({ seeds: [12], batchSize: 1 }), recordTrajectory: false });
    const [alone] = ofType(await studio.finished(jobId), 'sample');
    const page = await studio.service.listSamples({ limit: 100 });
    const inBatch = page.items.find((sample) => sample.seed === 12 && sample.id !== alone!.sample.id)!;
    const [a, b] = await Promise.all([studio.service.readImage({ kind: 'sample', sampleId: alone!.sample.id }), studio.service.readImage({ kind: 'sample', sampleId: inBatch.id })]);
    expect(PNG.sync.read(Buffer.from(a!)).data.equals(PNG.sync.read(Buffer.from(b!)).data)).toBe(true);
  });

  it('cancels the running job within a step and keeps what it finished', async () => {
    const seeds = Array.from({ length: 40 }, (_, k) => 500 + k);
    const { jobId } = await studio.service.startRun({ request: request({ seeds, batchSize: 1, sampler: 'ddpm', steps: '100' }), recordTrajectory: false });
    let stepsAfterCancel = -1;
    const unsubscribe = studio.service.onRunEvent((event) => {
      if (event.jobId !== jobId) return;
      if (event.type === 'sample' && stepsAfterCancel < 0 && event.sample.seed >= 502) {
        stepsAfterCancel = 0;
        void studio.service.cancelRun({ jobId });
      } else if (event.type === 'step' && stepsAfterCancel >= 0) {
        stepsAfterCancel++;
      }
    });
    const events = await studio.finished(jobId);
    unsubscribe();
    const finished = ofType(events, 'finished')[0]!;
    expect(finished.status).toBe('cancelled');
    expect(stepsAfterCancel).toBeLessThanOrEqual(1);
    const kept = ofType(events, 'sample');
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(40);
    const run = await studio.service.getSample({ sampleId: kept[0]!.sample.id });
    expect(run.run.status).toBe('cancelled');
    expect(run.run.sampleCount).toBe(kept.length);
  });

  it('finishes a cancelled run: only its missing seeds, into the same run, as an unbroken run draws them', async () => {
    const seeds = Array.from({ length: 12 }, (_, k) => 600 + k);
    const longRequest = request({ seeds, batchSize: 1, sampler: 'ddpm', steps: '100' });
    const { jobId } = await studio.service.startRun({ request: longRequest, recordTrajectory: false });
    const unsubscribe = studio.service.onRunEvent((event) => {
      if (event.jobId === jobId && event.type === 'sample' && event.sample.seed >= 602) void studio.service.cancelRun({ jobId });
    });
    const cancelled = await studio.finished(jobId);
    unsubscribe();
    const runId = ofType(cancelled, 'started')[0]!.runId;
    const kept = ofType(cancelled, 'sample').map((event) => event.sample.seed);
    expect(kept.length).toBeLessThan(seeds.length);

    // Two requests at once queue the run once.
    const [first, second] = [0, 1].map(() => studio.service.finishRun({ runId, recordTrajectory: false }));
    await expect(second).rejects.toThrow(`Run ${runId} is already being finished.`);
    const events = await studio.finished((await first!).jobId);
    const started = ofType(events, 'started')[0]!;
    expect(started.runId).toBe(runId);
    expect(started.request).toEqual({ ...longRequest, seeds: seeds.filter((seed) => !kept.includes(seed)) });
    expect(ofType(events, 'finished')[0]).toMatchObject({ status: 'completed', sampleCount: seeds.length - kept.length });
    const added = ofType(events, 'sample').map((event) => event.sample);
    expect(added.every((sample) => sample.runId === runId)).toBe(true);

    const detail = await studio.service.getSample({ sampleId: added[0]!.id });
    expect(detail.run).toMatchObject({ id: runId, status: 'completed', sampleCount: seeds.length, error: null });
    const page = await studio.service.listSamples({ limit: 100 });
    expect(page.items.filter((sample) => sample.runId === runId).map((sample) => sample.seed).sort()).toEqual(seeds);

    // The last seed drawn alone in a run of its own gives the same pixels.
    const last = added.at(-1)!;
    const alone = await studio.service.startRun({ request: { ...longRequest, seeds: [last.seed] }, recordTrajectory: false });
    const [fresh] = ofType(await studio.finished(alone.jobId), 'sample');
    const [a, b] = await Promise.all([last.id, fresh!.sample.id].map((sampleId) => studio.service.readImage({ kind: 'sample', sampleId })));
    expect(PNG.sync.read(Buffer.from(a!)).data.equals(PNG.sync.read(Buffer.from(b!)).data)).toBe(true);

    await expect(studio.service.finishRun({ runId, recordTrajectory: false })).rejects.toThrow(`Run ${runId} is completed; only a run that stopped early`);
    await expect(studio.service.finishRun({ runId: 99999, recordTrajectory: false })).rejects.toThrow('Run 99999 is not in the gallery');
  });

  it('refuses to finish a run that lacks no seed, belongs to an evaluation, or whose model has changed since', async () => {
    const { jobId } = await studio.service.startRun({ request: request({ seeds: [41, 42], batchSize: 1 }), recordTrajectory: false });
    const runId = ofType(await studio.finished(jobId), 'started')[0]!.runId;
    const gallery = new Database(galleryFile(studio.dataDir));
    const finish = () => studio.service.finishRun({ runId, recordTrajectory: false });
    gallery.prepare(`UPDATE runs SET status = 'cancelled' WHERE id = ?`).run(runId);
    await expect(finish()).rejects.toThrow(`Run ${runId} already has a sample for every seed`);
    gallery.prepare('DELETE FROM samples WHERE run_id = ? AND seed = 42').run(runId);
    // An evaluation id with no evaluation row behind it is enough for the check.
    gallery.pragma('foreign_keys = OFF');
    gallery.prepare('UPDATE runs SET evaluation_id = 999 WHERE id = ?').run(runId);
    await expect(finish()).rejects.toThrow(`Run ${runId} belongs to evaluation 999; resume that evaluation instead`);
    gallery.prepare('UPDATE runs SET evaluation_id = NULL, model_sha256 = ? WHERE id = ?').run('0'.repeat(64), runId);
    gallery.close();
    await expect(finish()).rejects.toThrow(`Model "linear-8px" has changed since run ${runId} was drawn`);
  });

  it('runs a sweep as one job per scale with the same seeds, in order', async () => {
    const handle = await studio.service.startSweep({ request: request({ seeds: [1, 2] }), scales: [0, 1, 4], recordTrajectory: false });
    expect(handle.jobs.map((job) => job.scale)).toEqual([0, 1, 4]);
    const results = await Promise.all(handle.jobs.map((job) => studio.finished(job.jobId)));
    results.forEach((events, row) => {
      expect(events.every((event) => event.sweepId === handle.sweepId)).toBe(true);
      const samples = ofType(events, 'sample').map((event) => event.sample);
      expect(samples.map((sample) => [sample.seed, sample.scale])).toEqual([[1, handle.jobs[row]!.scale], [2, handle.jobs[row]!.scale]]);
    });
    // Scale 0 is unguided: it must differ from scale 4 for the same seed.
    const first = ofType(results[0]!, 'sample')[0]!.sample.id;
    const last = ofType(results[2]!, 'sample')[0]!.sample.id;
    const [unguided, guided] = await Promise.all([first, last].map((sampleId) => studio.service.readImage({ kind: 'sample', sampleId })));
    expect(Buffer.from(unguided!).equals(Buffer.from(guided!))).toBe(false);
  });

  it('cancels a queued job before it starts, without a gallery run', async () => {
    const long = await studio.service.startRun({ request: request({ seeds: [1, 2, 3, 4, 5, 6], batchSize: 1, sampler: 'ddpm', steps: '100' }), recordTrajectory: false });
    const queued = await studio.service.startRun({ request: request(), recordTrajectory: false });
    expect(await studio.service.cancelRun({ jobId: queued.jobId })).toEqual({ cancelled: true });
    await studio.service.cancelRun({ jobId: long.jobId });
    const events = await studio.finished(queued.jobId);
    expect(events.map((event) => event.type)).toEqual(['finished']);
    expect(await studio.service.cancelRun({ jobId: 9999 })).toEqual({ cancelled: false });
    await studio.finished(long.jobId);
  });

  it('answers a mistake in the request before queueing it, with a sentence', async () => {
    await expect(studio.service.startRun({ request: request({ classIndex: 7 }), recordTrajectory: false })).rejects.toThrow(/Class 7 is out of range/);
    await expect(studio.service.startRun({ request: request({ modelId: 'nope' }), recordTrajectory: false })).rejects.toThrow(/no model "nope".*linear-8px/);
    await expect(studio.service.getSample({ sampleId: 123456 })).rejects.toThrow(/not in the gallery/);
  });

  it('exports a PNG whose recipe restores the exact request', async () => {
    const [sample] = (await studio.service.listSamples({ limit: 1 })).items;
    const exported = await studio.service.exportPng({ sampleId: sample!.id, upscale: 1 });
    expect(exported.fileName).toMatch(/\.png$/);
    const restored = await studio.service.readRecipe({ png: exported.png });
    expect(restored.warning).toBeNull();
    expect(restored.request).toMatchObject({ modelId: 'linear-8px', seeds: [sample!.seed], scale: sample!.scale, classIndex: sample!.classIndex, batchSize: 1 });
  });

  it('edits, lists facets, filters and deletes samples', async () => {
    const { items } = await studio.service.listSamples({ limit: 3 });
    const target = items[0]!;
    await studio.service.editSample({ kind: 'favorite', sampleId: target.id, favorite: true });
    await studio.service.editSample({ kind: 'tag', sampleId: target.id, tag: 'keeper' });
    const edited = await studio.service.editSample({ kind: 'notes', sampleId: target.id, notes: 'crisp edges' });
    expect(edited).toMatchObject({ favorite: true, tags: ['keeper'], notes: 'crisp edges' });
    expect((await studio.service.listSamples({ favorite: true, limit: 100 })).items.map((sample) => sample.id)).toEqual([target.id]);
    expect((await studio.service.listSamples({ tag: 'keeper', limit: 100 })).items.map((sample) => sample.id)).toEqual([target.id]);
    const facets = await studio.service.galleryFacets();
    expect(facets.tags).toEqual(['keeper']);
    expect(facets.models).toEqual([{ modelId: 'linear-8px', count: facets.total }]);
    expect(await studio.service.deleteSample({ sampleId: target.id })).toEqual({ deleted: true });
    expect(await studio.service.readImage({ kind: 'sample', sampleId: target.id })).toBeNull();
    expect((await studio.service.galleryFacets()).total).toBe(facets.total - 1);
  });

  it('saves, lists and deletes presets', async () => {
    const { seeds: _seeds, ...settings } = request({ scale: 6 });
    const preset = await studio.service.savePreset({ name: 'Strong guidance', settings });
    expect((await studio.service.listPresets()).map((entry) => entry.name)).toEqual(['Strong guidance']);
    expect(preset.settings.scale).toBe(6);
    expect(await studio.service.deletePreset({ presetId: preset.id })).toEqual({ deleted: true });
    expect(await studio.service.listPresets()).toEqual([]);
  });
});

describe('invokeOperation (the path IPC and serve share)', () => {
  it('rejects an unknown channel before reading the payload', async () => {
    await expect(invokeOperation(studio.service, 'fs:read', { path: '/etc/passwd' })).rejects.toThrow(/Unknown channel "fs:read"/);
  });

  it('rejects a payload that does not match the schema, saying what is wrong', async () => {
    await expect(invokeOperation(studio.service, 'gallery:get', { sampleId: 'one' })).rejects.toThrow(/gallery:get is not valid[\s\S]*sampleId/);
    await expect(invokeOperation(studio.service, 'run:start', { request: { ...request(), scale: -1 } })).rejects.toThrow(/scale/);
  });

  it('applies schema defaults and answers with the contract shape', async () => {
    const page = (await invokeOperation(studio.service, 'gallery:list', {})) as { items: unknown[] };
    expect(Array.isArray(page.items)).toBe(true);
    expect(await invokeOperation(studio.service, 'models:list', undefined)).toHaveLength(1);
  });
});
