/**
 * The queue outlives a killed studio: a process queues four runs and is killed with SIGKILL
 * while the first one draws; a studio opened on the same data folder takes the queue over,
 * holds it until it is resumed, then finishes the first run with the seeds it lacks and runs
 * the other three. Every image is the one an uninterrupted studio draws for the same
 * requests, pixel for pixel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../../common/contract/queue';
import { openStudio, type Studio } from '../../../electron/service/open-studio';
import { startChild, type Child } from '../faults/child-process';
import { LINEAR_MODEL } from '../inference/test-models';
import { KILLED_RUN_SEEDS, queuedRequests } from './queue-requests';

const QUEUE_PROCESS = resolve('test/electron/service/queue-process.ts');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gds-queue-kill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function studioOn(dataDir: string): Studio {
  const studio = openStudio({ dataDir, modelDirs: [LINEAR_MODEL], threads: 1 });
  cleanups.push(() => studio.close());
  return studio;
}

function childIn(dataDir: string): Child {
  const child = startChild(QUEUE_PROCESS, [dataDir]);
  cleanups.push(() => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  });
  return child;
}

/** Decoded RGBA pixels of every sample of an entry's run, by seed. */
async function pixelsBySeed(studio: Studio, entry: QueueEntry): Promise<Map<number, Buffer>> {
  const page = await studio.listSamples({ runId: entry.runId!, limit: 500 });
  const bySeed = new Map<number, Buffer>();
  for (const sample of page.items) {
    expect(bySeed.has(sample.seed), `seed ${sample.seed} drawn twice in run ${entry.runId}`).toBe(false);
    const png = await studio.readImage({ kind: 'sample', sampleId: sample.id });
    bySeed.set(sample.seed, PNG.sync.read(Buffer.from(png!)).data);
  }
  return bySeed;
}

/** The queue's entries in the order they were queued. */
function entriesInOrder(studio: Studio): QueueEntry[] {
  return [...studio.queue.view().entries].sort((a, b) => a.jobId - b.jobId);
}

describe('a studio killed with a running run and three queued', () => {
  it('leaves a queue that the next studio on the folder completes, with the pixels an uninterrupted run draws', async () => {
    const dataDir = dataFolder();
    const child = childIn(dataDir);
    const queuedJobs = () => child.lines.filter((line) => line.startsWith('job ')).map((line) => Number(line.split(' ')[1]));
    await child.line(() => queuedJobs().length === 4);
    const firstJob = queuedJobs()[0]!;
    await child.line(() => child.lines.filter((line) => line.startsWith(`sample ${firstJob} `)).length >= 6);
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const drawnBeforeKill = child.lines.filter((line) => line.startsWith('sample ')).length;
    // Killed mid-run: the first run had started and not finished, the others had not started.
    expect(drawnBeforeKill).toBeGreaterThanOrEqual(6);
    expect(drawnBeforeKill).toBeLessThan(KILLED_RUN_SEEDS);

    const survivor = studioOn(dataDir);
    // Taken over, held: a crash is not repeated before the user says so.
    expect(entriesInOrder(survivor).map((entry) => entry.status)).toEqual(['paused', 'paused', 'paused', 'paused']);
    expect(entriesInOrder(survivor)[0]!.runId).not.toBeNull();
    await survivor.resumeQueue();
    await survivor.queue.whenIdle();
    const resumed = entriesInOrder(survivor);
    expect(resumed.map((entry) => entry.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const requests = queuedRequests();
    expect(resumed.map((entry) => entry.totalSamples)).toEqual(requests.map((request) => request.seeds.length));
    // The first run was carried on in the gallery run it had begun, not drawn again in a new one.
    const firstRun = await survivor.getSample({ sampleId: (await survivor.listSamples({ runId: resumed[0]!.runId!, limit: 1 })).items[0]!.id });
    expect(firstRun.run).toMatchObject({ status: 'completed', sampleCount: KILLED_RUN_SEEDS });

    const referenceStudio = studioOn(dataFolder());
    for (const request of requests) await referenceStudio.startRun({ request, recordTrajectory: false });
    await referenceStudio.queue.whenIdle();
    const reference = entriesInOrder(referenceStudio);

    let compared = 0;
    for (const [index, request] of requests.entries()) {
      const after = await pixelsBySeed(survivor, resumed[index]!);
      const uninterrupted = await pixelsBySeed(referenceStudio, reference[index]!);
      expect([...after.keys()].sort((a, b) => a - b)).toEqual(request.seeds);
      for (const seed of request.seeds) {
        expect(after.get(seed)!.equals(uninterrupted.get(seed)!), `job ${index + 1}, seed ${seed}`).toBe(true);
        compared++;
      }
    }
    expect(compared).toBe(KILLED_RUN_SEEDS + 4 + 3 + 2);
    console.info(`queue kill: ${drawnBeforeKill} samples stored before SIGKILL, ${compared} samples after recovery equal pixel for pixel to an uninterrupted run`);
  });

  it('finishes the killed run from its gallery run at once through the held entry, leaving the others held', async () => {
    const dataDir = dataFolder();
    const child = childIn(dataDir);
    const queuedJobs = () => child.lines.filter((line) => line.startsWith('job ')).map((line) => Number(line.split(' ')[1]));
    await child.line(() => queuedJobs().length === 4);
    await child.line(() => child.lines.filter((line) => line.startsWith(`sample ${queuedJobs()[0]} `)).length >= 3);
    child.process.kill('SIGKILL');
    await child.exited;

    const survivor = studioOn(dataDir);
    const [killed, ...others] = entriesInOrder(survivor);
    const run = (await survivor.getSample({ sampleId: (await survivor.listSamples({ runId: killed!.runId!, limit: 1 })).items[0]!.id })).run;
    expect(run.status).toBe('interrupted');
    const { jobId } = await survivor.finishRun({ runId: run.id, recordTrajectory: false });
    expect(jobId).toBe(killed!.jobId);
    await survivor.queue.whenIdle();
    const after = entriesInOrder(survivor);
    expect(after.map((entry) => entry.status)).toEqual(['completed', 'paused', 'paused', 'paused']);
    expect(after.slice(1).map((entry) => entry.jobId)).toEqual(others.map((entry) => entry.jobId));
    expect((await survivor.listSamples({ runId: run.id, limit: 500 })).items).toHaveLength(KILLED_RUN_SEEDS);
  });
});
