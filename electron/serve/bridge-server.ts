/**
 * The headless bridge: one HTTP server on loopback that serves the built renderer, the gallery
 * images (token required) and the StudioApi over a WebSocket (token required).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import { BridgeCall, bridgeImagePrefix, bridgeSocketPath, type BridgeServerFrame } from '../../common/contract/bridge-protocol';
import { eventChannels } from '../../common/contract/channels';
import { parseImagePath, type ImageRef, type StudioHandlers, type Unsubscribe, type RunEvent } from '../../common/contract/studio-api';
import { invokeOperation } from '../service/invoke';
import { messageForUser } from '../service/user-facing-error';

export interface BridgedService extends StudioHandlers {
  onRunEvent(listener: (event: RunEvent) => void): Unsubscribe;
  readImage(ref: ImageRef): Promise<Uint8Array | null>;
}

export interface BridgeOptions {
  service: BridgedService;
  /** Folder of the built renderer (index.html and assets). */
  rendererDir: string;
  token: string;
  host?: string;
  port: number;
  log?: (line: string) => void;
}

export interface RunningBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Largest message a page may send: a dropped PNG travels as base64. */
const maxMessageBytes = 96 * 1024 * 1024;

function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function requestUrl(request: IncomingMessage): URL {
  return new URL(request.url ?? '/', 'http://127.0.0.1');
}

/** A page from another site must not drive the studio even if it learnt the port. */
function originAllowed(request: IncomingMessage, host: string, port: number): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${host}:${port}` || origin === `http://localhost:${port}`;
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const serveStatic = sirv(options.rendererDir, { dev: false, etag: true, single: false });

  async function serveImage(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (!tokenMatches(options.token, url.searchParams.get('token'))) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('A valid token is required.');
      return;
    }
    const ref = parseImagePath(url.pathname.slice(bridgeImagePrefix.length));
    const png = ref ? await options.service.readImage(ref) : null;
    if (!png) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('No such image.');
      return;
    }
    response.writeHead(200, {
      'content-type': 'image/png',
      'content-length': png.byteLength,
      'cache-control': 'private, max-age=31536000, immutable',
    });
    response.end(png);
  }

  const server: Server = createServer((request, response) => {
    const url = requestUrl(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405).end();
      return;
    }
    if (url.pathname.startsWith(bridgeImagePrefix)) {
      serveImage(request, response, url).catch((error: unknown) => {
        log(`image ${url.pathname} failed: ${messageForUser(error)}`);
        if (!response.headersSent) response.writeHead(500).end();
      });
      return;
    }
    serveStatic(request, response, () => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.');
    });
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  let boundPort = options.port;

  server.on('upgrade', (request, socket, head) => {
    const url = requestUrl(request);
    const allowed =
      url.pathname === bridgeSocketPath &&
      tokenMatches(options.token, url.searchParams.get('token')) &&
      originAllowed(request, host, boundPort);
    if (!allowed) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });

  sockets.on('connection', (ws: WebSocket) => {
    const send = (frame: BridgeServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const unsubscribe = options.service.onRunEvent((event) => send({ event: eventChannels.runEvent, payload: event }));
    ws.on('close', unsubscribe);
    ws.on('message', (data) => {
      let call: BridgeCall;
      try {
        call = BridgeCall.parse(JSON.parse(data.toString()));
      } catch {
        ws.close(1003, 'Malformed message');
        return;
      }
      invokeOperation(options.service, call.channel, call.payload).then(
        (result) => send({ id: call.id, ok: true, result }),
        (error: unknown) => send({ id: call.id, ok: false, error: messageForUser(error) }),
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;

  return {
    port: boundPort,
    url: `http://${host}:${boundPort}/?token=${options.token}`,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
