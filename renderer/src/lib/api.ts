/**
 * The page's only door to the service. In Electron the preload hands over `window.studio`;
 * in a browser opened by `serve` the same StudioApi is spoken over a WebSocket. Nothing else in
 * the renderer touches either, and image URLs are made only here.
 */
import { BridgeServerFrame, bridgeImagePrefix, bridgeSocketPath } from '../../../common/contract/bridge-protocol';
import { eventChannels, type InvokeMethod } from '../../../common/contract/channels';
import {
  RunEvent,
  imagePath,
  imageProtocolScheme,
  studioOperations,
  type ImageRef,
  type StudioApi,
  type Unsubscribe,
} from '../../../common/contract/studio-api';

declare global {
  interface Window {
    studio?: StudioApi;
  }
}

export interface StudioConnection {
  api: StudioApi;
  imageUrl(ref: ImageRef): string;
  /** Called when the link to the service drops (the `serve` process stopped). */
  onDisconnect(listener: () => void): Unsubscribe;
  /** Called when the link is back (the `serve` process started again on the same data folder). */
  onReconnect(listener: () => void): Unsubscribe;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

function connectElectron(studio: StudioApi): StudioConnection {
  return {
    api: studio,
    imageUrl: (ref) => `${imageProtocolScheme}://images/${imagePath(ref)}`,
    onDisconnect: () => () => undefined,
    onReconnect: () => () => undefined,
  };
}

/** How long the page waits between tries to reach a `serve` that went away. */
const RECONNECT_DELAY_MS = 1000;

function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  return new Promise<WebSocket>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(socket), { once: true });
    socket.addEventListener('error', () => reject(new Error('The studio refused the connection: the token may be stale. Open the address that `npm run serve` printed last.')), { once: true });
  });
}

async function connectWebSocket(location: Location): Promise<StudioConnection> {
  const token = new URLSearchParams(location.search).get('token');
  if (!token) throw new Error('This address has no token. Open the exact address that `npm run serve` printed.');
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socketUrl = `${protocol}//${location.host}${bridgeSocketPath}?token=${encodeURIComponent(token)}`;
  const pending = new Map<number, PendingCall>();
  const runListeners = new Set<(event: RunEvent) => void>();
  const disconnectListeners = new Set<() => void>();
  const reconnectListeners = new Set<() => void>();
  let nextId = 1;
  let socket = await openSocket(socketUrl);

  function onMessage(message: MessageEvent<string>): void {
    const frame = BridgeServerFrame.parse(JSON.parse(message.data));
    if ('event' in frame) {
      if (frame.event !== eventChannels.runEvent) return;
      const event = RunEvent.parse(frame.payload);
      for (const listener of runListeners) listener(event);
      return;
    }
    const call = pending.get(frame.id);
    if (!call) return;
    pending.delete(frame.id);
    if (frame.ok) call.resolve(frame.result);
    else call.reject(new Error(frame.message));
  }

  /** A restarted `serve` keeps its token, so the page tries the same address until it answers again. */
  function reconnectLater(): void {
    setTimeout(() => {
      openSocket(socketUrl).then(
        (reopened) => {
          attach(reopened);
          for (const listener of reconnectListeners) listener();
        },
        () => reconnectLater(),
      );
    }, RECONNECT_DELAY_MS);
  }

  function attach(opened: WebSocket): void {
    socket = opened;
    opened.addEventListener('message', onMessage);
    opened.addEventListener('close', () => {
      for (const call of pending.values()) call.reject(new Error('The connection to the studio was lost; the page reconnects when `npm run serve` runs again.'));
      pending.clear();
      for (const listener of disconnectListeners) listener();
      reconnectLater();
    });
  }
  attach(socket);

  function invoke(method: InvokeMethod, payload: unknown): Promise<unknown> {
    const operation = studioOperations[method];
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      if (socket.readyState !== WebSocket.OPEN) {
        reject(new Error('The connection to the studio was lost; the page reconnects when `npm run serve` runs again.'));
        return;
      }
      pending.set(id, { resolve: (value) => resolve(operation.response.parse(value)), reject });
      socket.send(JSON.stringify({ id, channel: operation.channel, payload }));
    });
  }

  const methods = Object.fromEntries(
    (Object.keys(studioOperations) as InvokeMethod[]).map((method) => [method, (payload?: unknown) => invoke(method, payload)]),
  );
  const api = {
    ...methods,
    onRunEvent(listener: (event: RunEvent) => void): Unsubscribe {
      runListeners.add(listener);
      return () => runListeners.delete(listener);
    },
  } as StudioApi;

  return {
    api,
    imageUrl: (ref) => `${bridgeImagePrefix}${imagePath(ref)}?token=${encodeURIComponent(token)}`,
    onDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
  };
}

export function connectStudio(): Promise<StudioConnection> {
  if (window.studio) return Promise.resolve(connectElectron(window.studio));
  return connectWebSocket(window.location);
}

/** Bytes of a base64 string, as the contract carries PNGs and preview pixels. */
export function bytesFromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function base64FromBytes(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}
