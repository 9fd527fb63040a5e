/**
 * The job queue through the studio's operations, on a real gallery file and the linear ONNX
 * model: order, pause and resume, moves, removal, cancelling running and waiting entries, and
 * a studio reopened on the folder carrying on what was queued or running.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../../common/contract/queue';
import type { RunEvent } from '../../../common/contract/studio-api';
import { resolve } from 'node:path';
import { galleryFile } from '../../../electron/gallery';
import { invokeOperation } from '../../../electron/service/invoke';
import { startChild } from '../faults/child-process';
import { openStudio, removeFolder, request, type StudioFixture } from './studio-fixture';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function studioIn(dataDir?: string): StudioFixture {
  const studio = openStudio(dataDir);
  cleanups.push(() => studio.close());
  if (dataDir === undefined) cleanups.push(() => removeFolder(studio.dataDir));
  return studio;
}

const long = () => request({ seeds: Array.from({ length: 40 }, (_, k) => 700 + k), batchSize: 1, sampler: 'ddpm', steps: '100' });

async function queueRuns(studio: StudioFixture, count: number): Promise<number[]> {
  const jobIds: number[] = [];
  for (let k = 0; k < count; k++) jobIds.push((await studio.service.startRun({ request: request({ seeds: [100 * (k + 1)] }), recordTrajectory: false })).jobId);
  return jobIds;
}

async function entries(studio: StudioFixture): Promise<QueueEntry[]> {
  return (await studio.service.listQueue()).entries;
}

function waitingOrder(list: QueueEntry[]): number[] {
  return list.filter((entry) => entry.status === 'queued' || entry.status === 'paused').map((entry) => entry.jobId);
}

function startedOrder(events: RunEvent[]): number[] {
  return events.filter((event) => event.type === 'started').map((event) => event.jobId);
}

function statusOf(list: QueueEntry[], jobId: number): QueueEntry['status'] | undefined {
  return list.find((entry) => entry.jobId === jobId)?.status;
}

/** Resolves once the job has stored `count` samples. */
function samplesStored(studio: StudioFixture, jobId: number, count: number): Promise<void> {
  return new Promise((resolve) => {
    let stored = 0;
    const unsubscribe = studio.service.onRunEvent((event) => {
      if (event.jobId !== jobId || event.type !== 'sample' || ++stored < count) return;
      unsubscribe();
      resolve();
    });
  });
}

describe('the job queue', () => {
  it('runs entries one at a time in the order they were queued, each to completion', async () => {
    const studio = studioIn();
    const jobIds = await queueRuns(studio, 3);
    await studio.service.queue.whenIdle();
    expect(startedOrder(studio.events)).toEqual(jobIds);
    // Each job starts only after the one before it has finished.
    const order = studio.events.filter((event) => event.type === 'started' || event.type === 'finished').map((event) => `${event.type} ${event.jobId}`);
    expect(order).toEqual(jobIds.flatMap((jobId) => [`started ${jobId}`, `finished ${jobId}`]));
    const list = await entries(studio);
    expect(jobIds.map((jobId) => statusOf(list, jobId))).toEqual(['completed', 'completed', 'completed']);
    expect(list.find((entry) => entry.jobId === jobIds[0])).toMatchObject({ kind: 'run', doneSamples: 1, totalSamples: 1, error: null });
  });

  it('holds every waiting entry while paused, queues new ones as paused, and runs them all on resume', async () => {
    const studio = studioIn();
    expect((await studio.service.pauseQueue()).paused).toBe(true);
    const jobIds = await queueRuns(studio, 2);
    await studio.service.queue.whenIdle();
    expect(startedOrder(studio.events)).toEqual([]);
    expect((await entries(studio)).map((entry) => entry.status)).toEqual(['paused', 'paused']);

    const resumed = await studio.service.resumeQueue();
    expect(resumed.paused).toBe(false);
    expect(resumed.entries.map((entry) => entry.status)).toEqual(['queued', 'queued']);
    await studio.service.queue.whenIdle();
    expect(startedOrder(studio.events)).toEqual(jobIds);
  });

  it('lets the running entry finish when paused, and starts nothing after it', async () => {
    const studio = studioIn();
    const [running] = await queueRuns(studio, 1);
    const [waiting] = await queueRuns(studio, 1);
    await new Promise<void>((resolve) => studio.service.onRunEvent((event) => event.type === 'started' && resolve()));
    await studio.service.pauseQueue();
    await studio.finished(running!);
    await studio.service.queue.whenIdle();
    const list = await entries(studio);
    expect([statusOf(list, running!), statusOf(list, waiting!)]).toEqual(['completed', 'paused']);
    expect(startedOrder(studio.events)).toEqual([running]);
  });

  it('moves waiting entries up, down and to a position, and runs them in that order', async () => {
    const studio = studioIn();
    await studio.service.pauseQueue();
    const [a, b, c, d] = await queueRuns(studio, 4);
    expect(waitingOrder((await studio.service.moveQueueEntry({ jobId: d!, to: 0 })).entries)).toEqual([d, a, b, c]);
    expect(waitingOrder((await studio.service.moveQueueEntry({ jobId: a!, to: 'down' })).entries)).toEqual([d, b, a, c]);
    // Past either end an entry stays at that end.
    expect(waitingOrder((await studio.service.moveQueueEntry({ jobId: d!, to: 'up' })).entries)).toEqual([d, b, a, c]);
    expect(waitingOrder((await studio.service.moveQueueEntry({ jobId: b!, to: 99 })).entries)).toEqual([d, a, c, b]);
    await studio.service.resumeQueue();
    await studio.service.queue.whenIdle();
    expect(startedOrder(studio.events)).toEqual([d, a, c, b]);
    await expect(studio.service.moveQueueEntry({ jobId: d!, to: 0 })).rejects.toThrow(`Job ${d} is completed; only a waiting job can be moved.`);
    await expect(studio.service.moveQueueEntry({ jobId: 9999, to: 0 })).rejects.toThrow('Job 9999 is not in the queue; it may have been removed.');
  });

  it('removes a waiting entry (it never runs) and a done one, and refuses to remove the running one', async () => {
    const studio = studioIn();
    const { jobId: running } = await studio.service.startRun({ request: long(), recordTrajectory: false });
    const [removed, kept] = await queueRuns(studio, 2);
    await samplesStored(studio, running, 1);
    await expect(studio.service.removeQueueEntry({ jobId: running })).rejects.toThrow(`Job ${running} is running; cancel it first, then remove it.`);
    const afterRemoval = await studio.service.removeQueueEntry({ jobId: removed! });
    expect(afterRemoval.entries.map((entry) => entry.jobId)).not.toContain(removed);
    expect((await studio.finished(removed!)).map((event) => event.type)).toEqual(['finished']);
    await studio.service.cancelRun({ jobId: running });
    await studio.service.queue.whenIdle();
    expect(startedOrder(studio.events)).toEqual([running, kept]);
    expect((await studio.service.removeQueueEntry({ jobId: kept! })).entries.map((entry) => entry.jobId)).toEqual([running]);
    await expect(studio.service.removeQueueEntry({ jobId: kept! })).rejects.toThrow(`Job ${kept} is not in the queue; it may have been removed already.`);
  });

  it('cancels a waiting entry before it starts and the running one within a step; the next entry then runs', async () => {
    const studio = studioIn();
    const { jobId: running } = await studio.service.startRun({ request: long(), recordTrajectory: false });
    const [cancelledWhileWaiting, next] = await queueRuns(studio, 2);
    await samplesStored(studio, running, 2);
    expect(await studio.service.cancelRun({ jobId: cancelledWhileWaiting! })).toEqual({ cancelled: true });
    expect(await studio.service.cancelRun({ jobId: running })).toEqual({ cancelled: true });
    await studio.service.queue.whenIdle();
    const list = await entries(studio);
    expect([running, cancelledWhileWaiting, next].map((jobId) => statusOf(list, jobId!))).toEqual(['cancelled', 'cancelled', 'completed']);
    expect(startedOrder(studio.events)).toEqual([running, next]);
    // Cancelling what has ended does nothing.
    expect(await studio.service.cancelRun({ jobId: running })).toEqual({ cancelled: false });
  });

  it('keeps what was queued across a restart: the next studio on the folder finds it paused as it was, and runs it on resume', async () => {
    const first = studioIn();
    await first.service.pauseQueue();
    const jobIds = await queueRuns(first, 2);
    await first.close();

    const second = studioIn(first.dataDir);
    const reopened = await second.service.listQueue();
    expect(reopened.paused).toBe(true);
    expect(reopened.entries.map((entry) => [entry.jobId, entry.status])).toEqual(jobIds.map((jobId) => [jobId, 'paused']));
    await second.service.resumeQueue();
    await second.service.queue.whenIdle();
    expect(startedOrder(second.events)).toEqual(jobIds);
    expect((await entries(second)).map((entry) => entry.status)).toEqual(['completed', 'completed']);
  });

  it('carries a run stopped by closing the studio on in the same gallery run after a restart, drawing only the seeds it lacked', async () => {
    const first = studioIn();
    const { jobId } = await first.service.startRun({ request: long(), recordTrajectory: false });
    await samplesStored(first, jobId, 3);
    await first.close();
    const before = first.events.filter((event) => event.type === 'sample').map((event) => (event.type === 'sample' ? event.sample.seed : -1));
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(40);

    const second = studioIn(first.dataDir);
    await second.service.queue.whenIdle();
    const [entry] = await entries(second);
    expect(entry).toMatchObject({ jobId, status: 'completed', doneSamples: 40, totalSamples: 40 });
    const started = second.events.find((event) => event.type === 'started');
    expect(started).toMatchObject({ jobId, runId: entry!.runId, sampleCount: 40 - before.length });
    const page = await second.service.listSamples({ runId: entry!.runId!, limit: 100 });
    expect(page.items.map((sample) => sample.seed).sort((x, y) => x - y)).toEqual(long().seeds);
  });

  it('answers a move or removal that does not fit the contract with a sentence', async () => {
    const studio = studioIn();
    await expect(invokeOperation(studio.service, 'queue:move', { jobId: 1, to: -1 })).rejects.toThrow(/The request for queue:move is not valid/);
    await expect(invokeOperation(studio.service, 'queue:move', { jobId: 1, to: 'sideways' })).rejects.toThrow(/The request for queue:move is not valid/);
    await expect(invokeOperation(studio.service, 'queue:remove', { jobId: 0 })).rejects.toThrow(/The request for queue:remove is not valid/);
    expect(await invokeOperation(studio.service, 'queue:list', undefined)).toEqual({ paused: false, entries: [] });
  });

  it('refuses to queue while another program holds the gallery locked, saying so, and queues once it lets go', async () => {
    const studio = studioIn();
    await studio.service.listQueue();
    const holder = startChild(resolve('test/electron/faults/lock-holder.ts'), [galleryFile(studio.dataDir), '0']);
    cleanups.push(() => void holder.process.kill('SIGKILL'));
    await holder.line((line) => line === 'ready');
    holder.tell('lock');
    await holder.line((line) => line === 'locked');
    await expect(studio.service.startRun({ request: request(), recordTrajectory: false })).rejects.toThrow(/The gallery .*gallery\.sqlite is locked/);
    await expect(studio.service.pauseQueue()).rejects.toThrow(/is locked/);
    holder.process.kill('SIGKILL');
    await holder.exited;
    expect((await studio.service.listQueue()).entries).toEqual([]);
    const { jobId } = await studio.service.startRun({ request: request(), recordTrajectory: false });
    expect((await studio.finished(jobId)).at(-1)).toMatchObject({ type: 'finished', status: 'completed' });
  });

  it("leaves another studio's waiting entries on the same folder alone: they are listed, and only their own studio removes them", async () => {
    const first = studioIn();
    await first.service.pauseQueue();
    const [jobId] = await queueRuns(first, 1);
    const second = studioIn(first.dataDir);
    expect((await second.service.listQueue()).entries.map((entry) => [entry.jobId, entry.status])).toEqual([[jobId, 'paused']]);
    await expect(second.service.removeQueueEntry({ jobId: jobId! })).rejects.toThrow(
      `Job ${jobId} waits in the queue of another studio open on this data folder; remove it there.`,
    );
    expect(await second.service.cancelRun({ jobId: jobId! })).toEqual({ cancelled: false });
    expect((await first.service.removeQueueEntry({ jobId: jobId! })).entries).toEqual([]);
  });
});
