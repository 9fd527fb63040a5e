/**
 * Storage faults met by a real studio: a full disk (a small tmpfs), a gallery locked by
 * another process, a second studio killed mid-run, and a data folder that cannot be written.
 * Each run must end with a sentence, keep every sample it stored, and leave the studio answering.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { RunEvent } from '../../../common/contract/studio-api';
import { galleryFile, openGallery, StorageError } from '../../../electron/gallery';
import { openStudio, removeFolder, request, type StudioFixture } from '../service/studio-fixture';
import { startChild, type Child } from './child-process';
import { mountSmallDisk, type SmallDisk } from './small-disk';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const LOCK_HOLDER = resolve('test/electron/faults/lock-holder.ts');
const STUDIO_PROCESS = resolve('test/electron/faults/studio-process.ts');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function studioIn(dataDir: string): StudioFixture {
  const studio = openStudio(dataDir);
  cleanups.push(() => studio.close());
  return studio;
}

function child(script: string, args: string[]): Child {
  const started = startChild(script, args);
  cleanups.push(() => {
    if (started.process.exitCode === null && started.process.signalCode === null) started.process.kill('SIGKILL');
    return started.exited;
  });
  return started;
}

function temporaryDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gds-faults-'));
  cleanups.push(() => removeFolder(dir));
  return dir;
}

function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

function finishedEvent(events: RunEvent[]): Extract<RunEvent, { type: 'finished' }> {
  const finished = events.find((event) => event.type === 'finished');
  if (finished?.type !== 'finished') throw new Error('the job did not finish');
  return finished;
}

function storedIds(events: RunEvent[]): number[] {
  return events.flatMap((event) => (event.type === 'sample' ? [event.sample.id] : []));
}

/** Every sample id of the gallery, page by page as the grid reads them. */
async function allSampleIds(studio: StudioFixture): Promise<number[]> {
  const ids: number[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await studio.service.listSamples({ limit: 500, ...(before === undefined ? {} : { before }) });
    ids.push(...page.items.map((sample) => sample.id));
    if (page.nextCursor === null) return ids;
    before = page.nextCursor;
  }
}

const seeds = (count: number) => Array.from({ length: count }, (_, i) => 500 + i);

describe('a disk that fills up during a run', () => {
  it('fails the run with a sentence naming the folder and the room needed, keeps every stored sample and keeps answering', async (context) => {
    const mounted = mountSmallDisk(3);
    if (mounted.disk === undefined) return context.skip(mounted.reason);
    const disk: SmallDisk = mounted.disk;
    cleanups.push(() => disk.remove());
    const studio = studioIn(disk.dir);

    const { jobId } = await studio.service.startRun({ request: request({ seeds: seeds(1024), batchSize: 16 }), recordTrajectory: true });
    const events = await studio.finished(jobId);
    const finished = finishedEvent(events);

    expect(finished.status).toBe('failed');
    expect(finished.message).toContain(`The disk holding the data folder ${disk.dir} is full`);
    expect(finished.message).toMatch(/\(\d+(\.\d)? [KM]B free\)/);
    expect(finished.message).toMatch(/Free at least 50 MB there \(the samples still to draw need about \d+(\.\d)? MB\)/);
    expect(finished.message).toContain('every sample stored before this was kept');
    expect(finished.message).toContain('--data');
    expect(finished.sampleCount).toBeGreaterThan(0);
    expect(finished.sampleCount).toBeLessThan(1024);

    // Every sample reported stored is in the gallery, whole, and the service still answers.
    const ids = storedIds(events);
    expect(ids).toHaveLength(finished.sampleCount);
    expect((await allSampleIds(studio)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const detail = await studio.service.getSample({ sampleId: ids[ids.length - 1]! });
    expect(detail.trajectory).toHaveLength(10);
    expect(detail.run.status).toBe('failed');
    expect(detail.run.error).toBe(finished.message);
    expect(await studio.service.readImage({ kind: 'sample', sampleId: ids[0]! })).toBeInstanceOf(Uint8Array);

    await studio.service.close();
    expect(integrityOf(galleryFile(disk.dir))).toBe('ok');
    // The ending fitted in the space the failed sample left, so the file itself says why the run stopped.
    const reopened = openGallery(galleryFile(disk.dir));
    expect(reopened.runs.get(detail.run.id)).toMatchObject({ status: 'failed', error: finished.message, sampleCount: ids.length });
    reopened.close();
  });

  it('refuses to open a gallery on a read-only folder with a sentence that says which folder and what to do', (context) => {
    const mounted = mountSmallDisk(1);
    if (mounted.disk === undefined) return context.skip(mounted.reason);
    const disk = mounted.disk;
    cleanups.push(() => disk.remove());
    disk.makeReadOnly();
    const dataDir = join(disk.dir, 'studio-data');

    let thrown: unknown;
    try {
      openGallery(galleryFile(dataDir));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as Error).message).toBe(
      `The data folder ${dataDir} cannot be written (it is read-only, or it does not exist and cannot be created). ` +
        `Choose another folder with --data, or fix that folder's permissions so this user can write there.`,
    );
  });
});

describe('a gallery whose write lock another process holds', () => {
  it('fails the run with a sentence naming the locked file, keeps its samples, and lists samples meanwhile', async () => {
    const dataDir = temporaryDataDir();
    const studio = studioIn(dataDir);
    const file = galleryFile(dataDir);
    const holder = child(LOCK_HOLDER, [file, '0']);
    await holder.line((line) => line === 'ready');
    const { jobId } = await studio.service.startRun({ request: request({ seeds: seeds(1024), batchSize: 1 }), recordTrajectory: true });

    // Lock the file once the run has stored a few samples; the holder waits its turn for the lock.
    await new Promise<void>((done) => {
      const unsubscribe = studio.service.onRunEvent((event) => {
        if (event.jobId === jobId && event.type === 'sample' && storedIds(studio.events).length >= 3) {
          unsubscribe();
          done();
        }
      });
    });
    holder.tell('lock');
    await holder.line((line) => line === 'locked');
    const events = await studio.finished(jobId);
    const finished = finishedEvent(events);
    expect(finished.status).toBe('failed');
    expect(finished.message).toBe(
      `The gallery ${file} is locked: another program holds its write lock, most likely another Guided Diffusion Studio using the same data folder. ` +
        `Close that program, or give this studio a data folder of its own (--data), and try again. Every sample stored before this was kept.`,
    );
    const ids = storedIds(events);
    expect(ids.length).toBeGreaterThanOrEqual(3);

    // Reading needs no write lock: the grid and the details still answer while it is held.
    const page = await studio.service.listSamples({ limit: 500 });
    expect(page.items).toHaveLength(ids.length);
    const detail = await studio.service.getSample({ sampleId: ids[0]! });
    expect(detail.run).toMatchObject({ status: 'failed', error: finished.message });

    // Once the lock is gone the ending the studio could not write reaches the file.
    holder.process.kill('SIGKILL');
    await holder.exited;
    await studio.service.close();
    const reopened = openGallery(file);
    expect(reopened.runs.get(detail.run.id)).toMatchObject({ status: 'failed', error: finished.message, sampleCount: ids.length });
    reopened.close();
    expect(integrityOf(file)).toBe('ok');
  });

  it('waits for a lock released within the busy timeout and completes the run', async () => {
    const dataDir = temporaryDataDir();
    const studio = studioIn(dataDir);
    await studio.service.loadModel({ modelId: 'linear-8px', provider: 'cpu' });
    const holder = child(LOCK_HOLDER, [galleryFile(dataDir), '1000']);
    await holder.line((line) => line === 'ready');
    holder.tell('lock');
    await holder.line((line) => line === 'locked');

    const { jobId } = await studio.service.startRun({ request: request({ seeds: seeds(4), batchSize: 2 }), recordTrajectory: false });
    const finished = finishedEvent(await studio.finished(jobId));
    expect(holder.lines).toContain('released');
    expect(finished).toMatchObject({ status: 'completed', sampleCount: 4 });
  });
});

describe('a second studio on the same data folder killed mid-run', () => {
  it('leaves every stored sample whole; the survivor sees the run interrupted without a restart and finishes it', async () => {
    const dataDir = temporaryDataDir();
    const survivor = studioIn(dataDir);
    // The survivor is up before the other studio starts, so nothing is learned from reopening the file.
    expect((await survivor.service.listSamples({ limit: 10 })).items).toEqual([]);

    const other = child(STUDIO_PROCESS, [dataDir, '400']);
    const runId = Number((await other.line((line) => line.startsWith('run '))).split(' ')[1]);
    await other.line(() => other.lines.filter((line) => line.startsWith('sample ')).length >= 5);
    other.process.kill('SIGKILL');
    expect((await other.exited).signal).toBe('SIGKILL');
    const reported = other.lines.filter((line) => line.startsWith('sample ')).map((line) => Number(line.split(' ')[1]));

    expect(integrityOf(galleryFile(dataDir))).toBe('ok');
    const detail = await survivor.service.getSample({ sampleId: reported[0]! });
    expect(detail.run.id).toBe(runId);
    expect(detail.run.status).toBe('interrupted');
    const page = await survivor.service.listSamples({ runId, limit: 500 });
    const stored = page.items.map((sample) => sample.id);
    for (const id of reported) expect(stored).toContain(id);

    const { jobId } = await survivor.service.finishRun({ runId, recordTrajectory: false });
    const finished = finishedEvent(await survivor.finished(jobId));
    expect(finished.status).toBe('completed');
    expect(finished.sampleCount).toBe(400 - stored.length);
    const after = await survivor.service.getSample({ sampleId: reported[0]! });
    expect(after.run).toMatchObject({ status: 'completed', sampleCount: 400 });
  });
});
