import { eventChannels, invokeChannels, type InvokeMethod } from '../../common/contract/channels';
import type { RunEvent, StudioApi, Unsubscribe } from '../../common/contract/studio-api';
import { Reply } from '../../common/contract/reply';

/** The three calls of Electron's ipcRenderer that the bridge uses; ipcRenderer itself stays in the preload. */
export interface RendererIpc {
  invoke(channel: string, ...payload: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}

function unwrap(channel: string, answer: unknown): unknown {
  const reply = Reply.safeParse(answer);
  if (!reply.success) throw new Error(`The studio answered ${channel} with something it did not expect. Restart the studio.`);
  if (!reply.data.ok) throw new Error(reply.data.message);
  return reply.data.result;
}

/**
 * The StudioApi the page sees: one named function per channel and a subscription that
 * returns its own unsubscribe function. Listeners get the event payload only, never
 * Electron's event object (whose `sender` would hand the page ipcRenderer).
 */
export function createStudioBridge(ipc: RendererIpc): StudioApi {
  const operations = Object.fromEntries(
    (Object.entries(invokeChannels) as [InvokeMethod, string][]).map(([method, channel]) => [
      method,
      async (request?: unknown) =>
        unwrap(channel, await (request === undefined ? ipc.invoke(channel) : ipc.invoke(channel, request))),
    ]),
  );
  const onRunEvent = (listener: (event: RunEvent) => void): Unsubscribe => {
    const relay = (_event: unknown, payload: unknown) => listener(payload as RunEvent);
    ipc.on(eventChannels.runEvent, relay);
    return () => {
      ipc.removeListener(eventChannels.runEvent, relay);
    };
  };
  // The map above holds exactly one function per InvokeMethod; their types come from the contract.
  return Object.freeze({ ...operations, onRunEvent }) as StudioApi;
}
