/**
 * A page that stops reading gets a bounded queue: its previews are skipped past one budget and
 * it is closed past another, while every other page keeps getting every event.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { RunEvent, Unsubscribe } from '../../../common/contract/studio-api';
import type { BridgedService } from '../../../electron/serve/bridge-server';
import { overloadedCloseCode, type QueueBudget } from '../../../electron/serve/page-sender';
import type { Studio } from '../../../electron/service/open-studio';
import { request } from '../service/studio-fixture';
import { closed, connect, pageClient, socketUrl, startTestBridge, type BridgeFixture, type PageClient } from './bridge-fixture';

const MiB = 1024 * 1024;

/** Run events the test emits itself, at the sizes a large model's previews reach. */
class RunEventSource {
  private readonly listeners = new Set<(event: RunEvent) => void>();

  subscribe = (listener: (event: RunEvent) => void): Unsubscribe => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  emit(event: RunEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The real service, with its run events replaced by the test's. */
function withRunEvents(service: Studio, source: RunEventSource): BridgedService {
  return new Proxy(service, {
    get(target, key) {
      if (key === 'onRunEvent') return source.subscribe;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function started(): RunEvent {
  return {
    type: 'started',
    jobId: 1,
    sweepId: null,
    runId: 1,
    request: request(),
    totalSteps: 1000,
    sampleCount: 1,
    activeProvider: 'cpu',
  };
}

function stepWithPreview(step: number, previewBytes: number): RunEvent {
  return {
    type: 'step',
    jobId: 1,
    sweepId: null,
    step,
    totalSteps: 1000,
    batchIndex: 0,
    batchCount: 1,
    stepsPerSecond: 1,
    secondsLeft: 1,
    previews: [{ seed: 1, width: previewBytes / 1024, height: 1024, channels: 1, pixels: Buffer.alloc(previewBytes, step % 256).toString('base64') }],
  };
}

/** A `finished` event carries nothing droppable; a long message makes it as large as a preview. */
function finished(jobId: number, messageBytes = 0): RunEvent {
  return { type: 'finished', jobId, sweepId: null, status: 'failed', message: 'x'.repeat(messageBytes) || 'done', sampleCount: 0 };
}

let fixture: BridgeFixture | undefined;
const openSockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of openSockets.splice(0)) socket.terminate();
  await fixture?.close();
  fixture = undefined;
});

async function bridgeWith(queueBudget: QueueBudget): Promise<{ source: RunEventSource; reader: PageClient; stalled: WebSocket; stalledPage: PageClient; port: number }> {
  const source = new RunEventSource();
  fixture = await startTestBridge({ queueBudget, service: (studio) => withRunEvents(studio.service, source) });
  const readerSocket = await connect(socketUrl(fixture.port));
  const stalled = await connect(socketUrl(fixture.port));
  openSockets.push(readerSocket, stalled);
  const stalledPage = pageClient(stalled);
  // The page stops reading: its socket is paused, so the kernel buffers fill and then the bridge's queue.
  stalled.pause();
  return { source, reader: pageClient(readerSocket), stalled, stalledPage, port: fixture.port };
}

/** Emits each event once the reading page has the one before, so only the stalled page falls behind. */
async function emitPaced(source: RunEventSource, reader: PageClient, events: RunEvent[]): Promise<void> {
  for (const event of events) {
    const before = reader.events.length;
    source.emit(event);
    await expect.poll(() => reader.events.length, { interval: 2, timeout: 10_000 }).toBe(before + 1);
  }
}

describe('a page that stops reading', () => {
  it('misses previews past the first budget but gets started and finished, while the reading page gets everything', async () => {
    const { source, reader, stalled, stalledPage } = await bridgeWith({ dropPreviewsAbove: 1 * MiB, closeAbove: 1024 * MiB });
    const steps = Array.from({ length: 60 }, (_, index) => stepWithPreview(index + 1, 512 * 1024));
    await emitPaced(source, reader, [started(), ...steps, finished(1)]);

    expect(reader.events.map((event) => event.type)).toEqual(['started', ...steps.map(() => 'step'), 'finished']);
    expect(fixture!.logs.join('\n')).toMatch(/the page is not keeping up \(\d+ bytes queued\); its previews are skipped/);

    stalled.resume();
    await expect.poll(() => stalledPage.events.at(-1)?.type, { timeout: 10_000 }).toBe('finished');
    const stalledSteps = stalledPage.events.filter((event) => event.type === 'step');
    expect(stalledPage.events[0]?.type).toBe('started');
    // 60 previews of 683 KiB (40 MiB) were emitted; what reached the page is what the kernel and the 1 MiB budget held.
    expect(stalledSteps.length).toBeLessThan(steps.length / 2);
    expect(stalledSteps.map((event) => event.step)).toEqual([...stalledSteps.map((event) => event.step)].sort((a, b) => a - b));
  });

  it('is closed with 1013 and a reason past the hard limit, and the bridge never queues more than that for it', async () => {
    const closeAbove = 4 * MiB;
    const eventBytes = 512 * 1024;
    const { source, reader, stalled, stalledPage } = await bridgeWith({ dropPreviewsAbove: 1 * MiB, closeAbove });
    const stalledClosed = closed(stalled);
    const events = Array.from({ length: 80 }, (_, index) => finished(index + 1, eventBytes));
    await emitPaced(source, reader, events);
    expect(reader.events).toHaveLength(events.length);

    const closings = fixture!.logs.filter((line) => line.includes('does not read; closing it'));
    expect(closings).toHaveLength(1);
    const queued = Number(/(\d+) bytes wait/.exec(closings[0]!)?.[1]);
    expect(queued).toBeGreaterThan(closeAbove);
    expect(queued).toBeLessThanOrEqual(closeAbove + eventBytes + 1024);

    stalled.resume();
    expect(await stalledClosed).toEqual({ code: overloadedCloseCode, reason: 'The page stopped reading; reload it to reconnect.' });
    // 80 events of 512 KiB (40 MiB) were emitted; the page got only what was queued before it was let go.
    expect(stalledPage.events.length).toBeLessThan(events.length / 2);

    source.emit(finished(999));
    await expect.poll(() => reader.events.at(-1)?.jobId).toBe(999);
  });
});
