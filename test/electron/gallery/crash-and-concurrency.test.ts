import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openGallery } from '../../../electron/gallery';
import { temporaryFolder } from './gallery-fixtures';

const WRITER = resolve('test/electron/gallery/writer-process.ts');

let folder: ReturnType<typeof temporaryFolder>;
let file: string;
beforeEach(() => {
  folder = temporaryFolder();
  file = join(folder.dir, 'gallery.sqlite');
});
afterEach(() => folder.remove());

interface Writer {
  child: ChildProcess;
  committed: number[];
  runId: () => number | undefined;
  /** Resolves when `predicate` holds for the ids committed so far. */
  until: (predicate: (committed: number[]) => boolean) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startWriter(count: number, size = 32): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(count), String(size)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const committed: number[] = [];
  let runId: number | undefined;
  let buffered = '';
  let stderr = '';
  const waiters: { predicate: (ids: number[]) => boolean; resolve: () => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [word, id] = line.split(' ');
      if (word === 'committed') committed.push(Number(id));
      if (word === 'run') runId = Number(id);
    }
    for (const waiter of waiters) if (waiter.predicate(committed)) waiter.resolve();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal, stderr })),
  );
  const until = (predicate: (ids: number[]) => boolean) =>
    new Promise<void>((done, fail) => {
      if (predicate(committed)) return done();
      waiters.push({ predicate, resolve: done });
      void exited.then(({ stderr: text }) => fail(new Error(`writer exited early: ${text}`)));
    });
  return { child, committed, runId: () => runId, until, exited };
}

describe('a writer killed mid-run', () => {
  it('leaves an intact database holding every sample it reported, and the run reads as interrupted', async () => {
    const writer = startWriter(0);
    await writer.until((ids) => ids.length >= 1);
    // A studio already open on the same file, which stays up: it must see the death without a restart.
    const survivor = openGallery(file);
    const runningRunId = writer.runId() as number;
    expect(survivor.runs.get(runningRunId)?.status).toBe('running');
    await writer.until((ids) => ids.length >= 25);
    writer.child.kill('SIGKILL');
    const { signal } = await writer.exited;
    expect(signal).toBe('SIGKILL');
    const reported = [...writer.committed];
    expect(survivor.runs.get(runningRunId)?.status).toBe('interrupted');
    expect(survivor.runs.markInterrupted()).toEqual([runningRunId]);
    survivor.close();

    const raw = new Database(file);
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(raw.pragma('foreign_key_check')).toEqual([]);
    raw.close();

    const gallery = openGallery(file);
    const runId = writer.runId() as number;
    // The survivor already marked it; a restart finds nothing left to mark.
    expect(gallery.interruptedRunIds).toEqual([]);
    const run = gallery.runs.get(runId);
    expect(run?.status).toBe('interrupted');
    expect(run?.sampleCount).toBeGreaterThanOrEqual(reported.length);
    for (const id of reported) {
      expect(gallery.samples.image(id)?.length).toBeGreaterThan(0);
      expect(gallery.trajectories.steps(id)).toHaveLength(4);
    }
    // A sample is either whole or absent: none without its image or its trajectory.
    const stored = gallery.samples.list({ runId, limit: 500 }).items;
    for (const sample of stored) {
      expect(gallery.samples.image(sample.id)).toBeDefined();
      expect(gallery.trajectories.steps(sample.id)).toHaveLength(4);
    }
    gallery.close();
  });
});

describe('readers while a job writes', () => {
  it('see a growing gallery of whole samples and never fail on a lock', async () => {
    const total = 120;
    const writer = startWriter(total, 64);
    await writer.until((ids) => ids.length >= 1);
    const reader = openGallery(file);
    let reads = 0;
    let lastCount = 0;
    let finished = false;
    void writer.exited.then(() => (finished = true));
    while (!finished) {
      const page = reader.samples.list({ limit: 500 });
      expect(page.items.length).toBeGreaterThanOrEqual(lastCount);
      lastCount = page.items.length;
      const newest = page.items[0];
      if (newest !== undefined) {
        expect(reader.samples.thumbnail(newest.id)).toBeDefined();
        expect(reader.samples.detail(newest.id)?.trajectory).toHaveLength(4);
      }
      reads++;
      await new Promise((wait) => setTimeout(wait, 5));
    }
    const { code, stderr } = await writer.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(reads).toBeGreaterThan(3);
    const runId = writer.runId() as number;
    expect(reader.runs.get(runId)).toMatchObject({ status: 'completed', sampleCount: total });
    expect(reader.samples.countsByClass({ runId })).toEqual([{ classIndex: 7, count: total }]);
    reader.close();
  });
});
