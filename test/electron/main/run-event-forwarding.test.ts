import { describe, expect, it } from 'vitest';
import { eventChannels } from '../../../common/contract/channels';
import type { RunEvent } from '../../../common/contract/studio-api';
import { forwardRunEvents } from '../../../electron/main/run-event-forwarding';

function eventSource() {
  const listeners = new Set<(event: RunEvent) => void>();
  return {
    listeners,
    subscribe(listener: (event: RunEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event: RunEvent) {
      for (const listener of [...listeners]) listener(event);
    },
  };
}

const finished: RunEvent = { type: 'finished', jobId: 1, sweepId: null, status: 'completed', message: null, sampleCount: 4 };

describe('run event forwarding', () => {
  it('sends each event to the page on the run channel', () => {
    const source = eventSource();
    const sent: [string, unknown][] = [];
    forwardRunEvents(source.subscribe, { isDestroyed: () => false, send: (channel, payload) => sent.push([channel, payload]) });

    source.emit(finished);

    expect(sent).toEqual([[eventChannels.runEvent, finished]]);
  });

  it('unsubscribes when the page is gone and when asked', () => {
    const source = eventSource();
    let destroyed = false;
    const sent: unknown[] = [];
    forwardRunEvents(source.subscribe, { isDestroyed: () => destroyed, send: (_channel, payload) => sent.push(payload) });
    destroyed = true;
    source.emit(finished);
    expect(sent).toEqual([]);
    expect(source.listeners.size).toBe(0);

    const stop = forwardRunEvents(source.subscribe, { isDestroyed: () => false, send: () => undefined });
    stop();
    expect(source.listeners.size).toBe(0);
  });
});
