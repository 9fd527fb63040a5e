/**
 * Why a run did not run on the provider it asked for, kept with its samples: the runs table's
 * provider_fallback column added to a version-8 file without losing a row, the sentence a run that
 * asked for CUDA on this CPU-only machine stores, and how the sample details and `gallery show` read it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { providerRows } from '../../../common/contract/run-provider-text';
import { sampleDetailLines } from '../../../electron/cli/commands/gallery';
import { runSampleCommand } from '../../../electron/cli/commands/sample';
import { LATEST_VERSION, openGallery } from '../../../electron/gallery';
import { openDatabase } from '../../../electron/gallery/open-database';
import { fallbackReason } from '../../../electron/inference';
import { openStudio } from '../../../electron/service/open-studio';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

const TINY_MODEL = path.resolve(import.meta.dirname, '../../fixtures/tiny-model');
const VERSION_BEFORE = 8;

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => {
  folder = temporaryFolder();
});
afterEach(() => folder.remove());

/** Fills a version-8 file the way that schema stores things: runs of every ending, samples with images, tags, trajectory steps and a queue entry. */
function seedVersionEight(file: string): void {
  const db = new Database(file);
  db.prepare('INSERT INTO models (id, sha256, manifest, added_at) VALUES (?, ?, ?, ?)').run('tiny-test', 'b'.repeat(64), JSON.stringify(testManifest()), 1);
  const insertRun = db.prepare(
    `INSERT INTO runs (id, model_id, model_sha256, classifier_sha256, request, provider, noise_algorithm, app_version, status, error, started_at, ended_at)
     VALUES (?, 'tiny-test', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  insertRun.run(1, 'b'.repeat(64), null, JSON.stringify(testRequest()), 'cpu', NOISE_ALGORITHM, APP_VERSION, 'completed', null, 1, 2);
  insertRun.run(2, 'b'.repeat(64), 'c'.repeat(64), JSON.stringify(testRequest({ provider: 'cuda', seeds: [4, 5] })), 'cpu', NOISE_ALGORITHM, APP_VERSION, 'failed', 'The UNet graph failed.', 3, 4);
  insertRun.run(3, 'b'.repeat(64), null, JSON.stringify(testRequest({ seeds: [6] })), 'cpu', NOISE_ALGORITHM, APP_VERSION, 'interrupted', null, 5, null);
  const insertSample = db.prepare(
    `INSERT INTO samples (id, run_id, model_id, class_index, scale, mode, sampler, steps, seed, width, height, confidence, favorite, notes, created_at)
     VALUES (?, ?, 'tiny-test', 7, 4, 'conditional', 'ddim', 'ddim25', ?, 32, 32, ?, ?, ?, ?)`,
  );
  insertSample.run(1, 1, 3, 0.5, 1, 'old note', 5);
  insertSample.run(2, 2, 4, null, 0, '', 6);
  insertSample.run(3, 3, 6, 0.25, 0, 'kept', 7);
  for (const id of [1, 2, 3]) db.prepare('INSERT INTO sample_images (sample_id, png, thumbnail_png) VALUES (?, ?, ?)').run(id, testPng(32, id), id === 1 ? testPng(8, id) : null);
  db.prepare(`INSERT INTO sample_tags (sample_id, tag) VALUES (1, 'kept'), (1, 'cuda'), (3, 'later')`).run();
  db.prepare(
    `INSERT INTO trajectory_steps (sample_id, step_index, t, xt_f32, pred_x0_u8, probability, gradient_norm) VALUES (1, 0, 24, ?, ?, 0.5, 1.5)`,
  ).run(Buffer.from(new Float32Array([0.25, -1]).buffer), Buffer.from([1, 2]));
  db.prepare(
    `INSERT INTO queue_entries (id, kind, payload, status, position, label, run_id, total_samples, created_at, ended_at)
     VALUES (1, 'run', ?, 'completed', 1, 'a run', 1, 1, 1, 2)`,
  ).run(JSON.stringify({ request: testRequest(), recordTrajectory: false, finishesRunId: null }));
  db.close();
}

/** Every row of every table, each row as JSON, in a fixed order. */
function everyRow(file: string): Record<string, string[]> {
  const db = new Database(file, { readonly: true });
  const tables = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((table) => table.name);
  const rows = Object.fromEntries(tables.map((table) => [table, (db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]).map((row) => JSON.stringify(row)).sort()]));
  db.close();
  return rows;
}

describe('the provider_fallback migration', () => {
  it(`adds the column to a version ${VERSION_BEFORE} file and keeps every row of every table as it was`, () => {
    const file = path.join(folder.dir, 'gallery.sqlite');
    const { db } = openDatabase(file, { targetVersion: VERSION_BEFORE });
    db.close();
    seedVersionEight(file);
    const before = everyRow(file);

    const gallery = openGallery(file);
    expect(gallery.previousVersion).toBe(VERSION_BEFORE);
    const runs = [1, 2, 3].map((id) => gallery.runs.get(id));
    expect(runs.map((run) => [run?.status, run?.provider, run?.providerFallback, run?.sampleCount])).toEqual([
      ['completed', 'cpu', null, 1],
      ['failed', 'cpu', null, 1],
      ['interrupted', 'cpu', null, 1],
    ]);
    expect(gallery.samples.get(1)).toMatchObject({ seed: 3, favorite: true, notes: 'old note', tags: ['cuda', 'kept'] });
    gallery.close();

    expect(LATEST_VERSION).toBe(VERSION_BEFORE + 1);
    const after = everyRow(file);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const [table, rows] of Object.entries(before)) {
      expect(after[table], table).toHaveLength(rows.length);
      if (table !== 'runs') expect(after[table], table).toEqual(rows);
    }
    // The runs keep every column they had, and the new one is empty.
    const runsAfter = after.runs!.map((row) => JSON.parse(row) as Record<string, unknown>);
    expect(runsAfter.map(({ provider_fallback: fallback, ...rest }) => [fallback, JSON.stringify(rest)])).toEqual(before.runs!.map((row) => [null, row]));
  });

  it('a run started on the new schema stores the sentence it is given, and the owner can replace it once the engine knows', () => {
    const gallery = openGallery(path.join(folder.dir, 'new.sqlite'));
    try {
      gallery.models.register(testManifest(), 'b'.repeat(64));
      const run = gallery.runs.start({ request: testRequest({ provider: 'cuda' }), provider: 'cpu', providerFallback: 'CUDA did not start: no GPU; ran on the CPU.', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
      expect(run.providerFallback).toBe('CUDA did not start: no GPU; ran on the CPU.');
      expect(gallery.runs.recordProvider(run.id, 'cpu', 'CUDA failed at step 3 of 10: out of memory; finished on the CPU.').providerFallback).toBe('CUDA failed at step 3 of 10: out of memory; finished on the CPU.');
      gallery.runs.end(run.id, 'completed');
      expect(gallery.runs.get(run.id)).toMatchObject({ status: 'completed', provider: 'cpu', providerFallback: 'CUDA failed at step 3 of 10: out of memory; finished on the CPU.' });
    } finally {
      gallery.close();
    }
  });
});

describe('the fallback sentence', () => {
  it('names each provider that did not start or failed part way, and where the run went on', () => {
    expect(fallbackReason([], 'cpu')).toBeNull();
    expect(fallbackReason([{ provider: 'cuda', error: 'libcudart.so.12: cannot open shared object file.' }], 'cpu')).toBe('CUDA did not start: libcudart.so.12: cannot open shared object file; ran on the CPU.');
    expect(fallbackReason([{ provider: 'cuda', error: 'out of memory', failedAt: { step: 12, steps: 50 } }], 'cpu')).toBe('CUDA failed at step 12 of 50: out of memory; finished on the CPU.');
    // While the CPU is still drawing (or when it then fails), it has not finished the run.
    expect(fallbackReason([{ provider: 'cuda', error: 'out of memory', failedAt: { step: 12, steps: 50 } }], 'cpu', 'running')).toBe('CUDA failed at step 12 of 50: out of memory; continued on the CPU.');
    expect(fallbackReason([{ provider: 'cuda', error: 'no GPU' }], 'cpu', 'running')).toBe('CUDA did not start: no GPU; ran on the CPU.');
    expect(fallbackReason([{ provider: 'cuda', error: 'no GPU' }, { provider: 'webgpu', error: 'device lost', failedAt: { step: 2, steps: 10 } }], 'cpu')).toBe('CUDA did not start: no GPU; WEBGPU failed at step 2 of 10: device lost; finished on the CPU.');
  });

  it('the sample details show the provider asked for and the reason only when the run fell back', () => {
    const asked = testRequest({ provider: 'cuda' });
    expect(providerRows({ request: testRequest({ provider: 'cpu' }), provider: 'cpu', providerFallback: null })).toEqual([['Provider', 'CPU']]);
    expect(providerRows({ request: testRequest({ provider: 'auto' }), provider: 'cpu', providerFallback: null })).toEqual([['Provider', 'CPU']]);
    expect(providerRows({ request: asked, provider: 'cpu', providerFallback: 'CUDA did not start: no GPU; ran on the CPU.' })).toEqual([
      ['Provider', 'CPU'],
      ['Provider asked for', 'CUDA'],
      ['Provider fallback', 'CUDA did not start: no GPU; ran on the CPU.'],
    ]);
  });
});

describe('a run that asks for CUDA on this machine', () => {
  it('keeps the reason from its first step, so a run cancelled part way still has it', async () => {
    const studio = openStudio({ dataDir: path.join(folder.dir, 'cancelled'), modelDirs: [TINY_MODEL], threads: 1, carryOnQueue: false });
    try {
      let jobId: number | null = null;
      const finished = new Promise<string>((resolve) => {
        studio.onRunEvent((event) => {
          if (event.jobId !== jobId) return;
          if (event.type === 'step') void studio.cancelRun({ jobId: event.jobId });
          if (event.type === 'finished') resolve(event.status);
        });
      });
      jobId = (await studio.startRun({ request: testRequest({ modelId: 'tiny-test', classIndex: 1, mode: 'unconditional+classifier', scale: 3, sampler: 'ddim', steps: 'ddim10', seeds: [1, 2, 3, 4], batchSize: 1, provider: 'cuda' }), recordTrajectory: false })).jobId;
      expect(await finished).toBe('cancelled');
      const [run] = studio.gallery.runs.list();
      expect(run).toMatchObject({ status: 'cancelled', provider: 'cpu' });
      expect(run!.providerFallback).toMatch(/^CUDA did not start: \S.*; ran on the CPU\.$/);
    } finally {
      await studio.close();
    }
  });

  it('runs on the CPU, and the gallery keeps and shows why', async () => {
    const dataDir = path.join(folder.dir, 'data');
    const drawn = await runSampleCommand({
      model: TINY_MODEL, class: 'square', sampler: 'ddim', steps: 'ddim10', scale: 3, seed: 2, count: 1, batch: 1, provider: 'cuda', out: path.join(folder.dir, 'out'), data: dataDir, clip: true, threads: 1, unetPrecision: 'auto', progress: false,
    });
    expect(drawn.result.provider).toBe('cpu');

    const studio = openStudio({ dataDir, modelDirs: [TINY_MODEL], threads: 1, carryOnQueue: false });
    let sampleId: number;
    try {
      const [sample] = (await studio.listSamples({ limit: 1 })).items;
      sampleId = sample!.id;
      const detail = await studio.getSample({ sampleId });
      expect(detail.run.request.provider).toBe('cuda');
      expect(detail.run.provider).toBe('cpu');
      expect(detail.run.providerFallback).toMatch(/^CUDA did not start: \S.*; ran on the CPU\.$/);
      const lines = sampleDetailLines(detail);
      expect(lines).toContain('Provider:           CPU');
      expect(lines).toContain('Provider asked for: CUDA');
      expect(lines).toContain(`Provider fallback:  ${detail.run.providerFallback}`);
    } finally {
      await studio.close();
    }

    const shown = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'electron/cli/main.ts', 'gallery', 'show', String(sampleId), '--data', dataDir]);
    expect(shown.stdout).toMatch(/^Provider fallback: {2}CUDA did not start: .+; ran on the CPU\.$/m);
    const asJson = JSON.parse((await promisify(execFile)(process.execPath, ['--import', 'tsx', 'electron/cli/main.ts', 'gallery', 'show', String(sampleId), '--data', dataDir, '--json'])).stdout) as { run: { provider: string; providerFallback: string } };
    expect(asJson.run).toMatchObject({ provider: 'cpu', providerFallback: expect.stringMatching(/^CUDA did not start: /) as unknown as string });
    const missing = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'electron/cli/main.ts', 'gallery', 'show', '999', '--data', dataDir]).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toContain(`Sample 999 is not in the gallery of ${dataDir}; \`gallery list\` shows the ids there are.`);
  });
});
