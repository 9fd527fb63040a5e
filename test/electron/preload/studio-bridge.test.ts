import { describe, expect, it } from 'vitest';
import { eventChannels, invokeChannels } from '../../../common/contract/channels';
import type { RunEvent } from '../../../common/contract/studio-api';
import { appEntryUrl } from '../../../electron/main/app-origin';
import { studioInvokeRoutes, type InvokeEvent } from '../../../electron/main/ipc-invoke';
import { isTrustedSender } from '../../../electron/main/trusted-sender';
import { createStudioBridge, type RendererIpc } from '../../../electron/preload/studio-bridge';
import { recordingHandlers } from '../main/studio-handlers-double';

type Relay = (event: unknown, payload: unknown) => void;

/** ipcRenderer and ipcMain joined in memory: each invoke reaches the main-process route of its channel. */
function joinedIpc(handlers: Parameters<typeof studioInvokeRoutes>[0], senderUrl: string) {
  const appUrl = appEntryUrl(undefined);
  const routes = new Map(
    studioInvokeRoutes(handlers, { isTrustedSender: (frame) => isTrustedSender(frame, appUrl), report: () => undefined }).map(
      (route) => [route.channel, route.listener],
    ),
  );
  const event: InvokeEvent = { senderFrame: { url: senderUrl, parent: null } };
  const subscribers = new Map<string, Set<Relay>>();
  const ipc: RendererIpc = {
    async invoke(channel, ...payload) {
      const listener = routes.get(channel);
      if (!listener) throw new Error(`No handler registered for '${channel}'`);
      return listener(event, ...payload);
    },
    on(channel, listener) {
      subscribers.set(channel, (subscribers.get(channel) ?? new Set()).add(listener));
    },
    removeListener(channel, listener) {
      subscribers.get(channel)?.delete(listener);
    },
  };
  const push = (channel: string, payload: unknown) => {
    for (const listener of subscribers.get(channel) ?? []) listener({ sender: 'ipcRenderer itself' }, payload);
  };
  return { ipc, push, subscribers };
}

const loadedModel = { modelId: 'fashion-mnist', requestedProvider: 'cpu', activeProvider: 'cpu', fallbackNote: null, unetPrecision: 'fp32' as const };

describe('preload bridge', () => {
  it('exposes one named function per channel plus the run-event subscription, and nothing else', () => {
    const bridge = createStudioBridge(joinedIpc(recordingHandlers().handlers, 'gds-app://studio/').ipc);
    expect(Object.keys(bridge).sort()).toEqual([...Object.keys(invokeChannels), 'onRunEvent'].sort());
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
    expect(Object.isFrozen(bridge)).toBe(true);
  });

  it('carries a call from the page to the service and its answer back', async () => {
    const { handlers, calls } = recordingHandlers({ loadModel: () => loadedModel, listModels: () => [] });
    const bridge = createStudioBridge(joinedIpc(handlers, 'gds-app://studio/index.html').ipc);

    expect(await bridge.loadModel({ modelId: 'fashion-mnist', provider: 'cpu' })).toEqual(loadedModel);
    expect(await bridge.listModels()).toEqual([]);
    expect(calls.map((call) => call.method)).toEqual(['loadModel', 'listModels']);
  });

  it('turns a refusal into an Error whose message the page can show', async () => {
    const { handlers, calls } = recordingHandlers({ loadModel: () => loadedModel });
    const bridge = createStudioBridge(joinedIpc(handlers, 'gds-app://studio/').ipc);
    // A page script can pass anything; the main process checks it against the schema.
    const loadModel = bridge.loadModel as (request: unknown) => Promise<unknown>;

    await expect(loadModel({ modelId: '' })).rejects.toThrow(/modelId/);
    expect(calls).toEqual([]);
  });

  it('refuses to work for a page that is not the studio', async () => {
    const { handlers, calls } = recordingHandlers({ listModels: () => [] });
    const bridge = createStudioBridge(joinedIpc(handlers, 'https://example.com/').ipc);

    await expect(bridge.listModels()).rejects.toThrow(/did not come from its own window/);
    expect(calls).toEqual([]);
  });

  it('hands run-event listeners the payload only, and unsubscribes', () => {
    const joined = joinedIpc(recordingHandlers().handlers, 'gds-app://studio/');
    const bridge = createStudioBridge(joined.ipc);
    const received: unknown[][] = [];
    const unsubscribe = bridge.onRunEvent((...args: unknown[]) => received.push(args));
    const event: RunEvent = { type: 'finished', jobId: 2, sweepId: null, status: 'cancelled', message: null, sampleCount: 0 };

    joined.push(eventChannels.runEvent, event);
    unsubscribe();
    joined.push(eventChannels.runEvent, event);

    expect(received).toEqual([[event]]);
    expect(joined.subscribers.get(eventChannels.runEvent)?.size).toBe(0);
  });
});
