/** A real bridge on a free loopback port, over a real studio service and a small renderer folder. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { BridgeServerFrame } from '../../../common/contract/bridge-protocol';
import type { RunEvent } from '../../../common/contract/studio-api';
import { startBridge, type BridgedService, type BridgeOptions, type RunningBridge } from '../../../electron/serve/bridge-server';
import { openStudio, removeFolder, type StudioFixture } from '../service/studio-fixture';

export const testToken = 'test-token-0123456789-abcdef';
export const indexHtml = '<!doctype html><title>Guided Diffusion Studio</title><p>The page the bridge serves.</p>';

export interface BridgeFixture {
  studio: StudioFixture;
  bridge: RunningBridge;
  port: number;
  /** Lines the bridge logged, in order. */
  logs: string[];
  close(): Promise<void>;
}

export async function startTestBridge(
  overrides: Partial<Omit<BridgeOptions, 'service'>> & { service?: (studio: StudioFixture) => BridgedService } = {},
): Promise<BridgeFixture> {
  const studio = openStudio();
  const rendererDir = mkdtempSync(path.join(tmpdir(), 'gds-renderer-'));
  writeFileSync(path.join(rendererDir, 'index.html'), indexHtml);
  const logs: string[] = [];
  const { service, ...options } = overrides;
  const bridge = await startBridge({
    rendererDir,
    token: testToken,
    port: 0,
    log: (line) => logs.push(line),
    ...options,
    service: service ? service(studio) : studio.service,
  });
  return {
    studio,
    bridge,
    port: bridge.port,
    logs,
    close: async () => {
      await bridge.close();
      await studio.close();
      removeFolder(studio.dataDir);
      removeFolder(rendererDir);
    },
  };
}

/** Opens a socket; resolves with it when open, rejects with the HTTP status when refused. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

export function socketUrl(port: number, token = testToken): string {
  return `ws://127.0.0.1:${port}/studio?token=${token}`;
}

export interface PageClient {
  events: RunEvent[];
  call(channel: string, payload?: unknown): Promise<BridgeServerFrame>;
}

export function pageClient(socket: WebSocket): PageClient {
  let nextId = 1;
  const events: RunEvent[] = [];
  const replies = new Map<number, (frame: BridgeServerFrame) => void>();
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as BridgeServerFrame;
    if ('event' in frame) events.push(frame.payload as RunEvent);
    else replies.get(frame.id)?.(frame);
  });
  return {
    events,
    call(channel, payload) {
      const id = nextId++;
      return new Promise((resolve) => {
        replies.set(id, resolve);
        socket.send(JSON.stringify({ id, channel, payload }));
      });
    },
  };
}

export function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
