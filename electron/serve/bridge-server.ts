/**
 * The headless bridge: one HTTP server on loopback that serves the built renderer, the gallery
 * images (token required) and the StudioApi over a WebSocket (token required). Whatever a client
 * sends, the answer is an error sentence to that client and the process stays up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { BRIDGE_MAX_MESSAGE_BYTES, BridgeCall, bridgeImagePrefix, bridgeSocketPath } from '../../common/contract/bridge-protocol';
import { parseImagePath, type ImageRef, type StudioHandlers, type Unsubscribe, type RunEvent } from '../../common/contract/studio-api';
import { invokeOperation } from '../service/invoke';
import { messageForUser } from '../service/user-facing-error';
import { assertTokenStrong, tokenMatches } from './access-token';
import { acceptedHost, loopbackAuthority, misdirectedSentence, originAllowed, type LoopbackAuthority } from './loopback-authority';
import { defaultQueueBudget, pageSender, type QueueBudget } from './page-sender';
import { answerText, refuseUpgrade } from './plain-answers';
import { requestTarget } from './request-target';
import { securityHeaders } from './security-headers';
import { staticFiles } from './static-files';

export interface BridgedService extends StudioHandlers {
  onRunEvent(listener: (event: RunEvent) => void): Unsubscribe;
  readImage(ref: ImageRef): Promise<Uint8Array | null>;
}

export interface BridgeOptions {
  service: BridgedService;
  /** Folder of the built renderer (index.html and assets). */
  rendererDir: string;
  /** At least `minimumTokenLength` base64url characters; a weaker one is refused. */
  token: string;
  host?: string;
  port: number;
  log?: (line: string) => void;
  /** How much may wait for a page that does not read; `defaultQueueBudget` when left out. */
  queueBudget?: QueueBudget;
}

export interface RunningBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** WebSocket close reasons travel in a control frame, at most 123 bytes. */
const malformedCallReason = 'The message is not a StudioApi call in JSON; reload the page.';

function peerLabel(request: IncomingMessage): string {
  return `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
}

function messageText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString();
  return data.toString();
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  assertTokenStrong(options.token);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const queueBudget = options.queueBudget ?? defaultQueueBudget;
  const serveStatic = staticFiles(options.rendererDir, log);
  let authority: LoopbackAuthority = loopbackAuthority(host, options.port);

  async function serveImage(response: ServerResponse, url: URL): Promise<void> {
    if (!tokenMatches(options.token, url.searchParams.get('token'))) {
      answerText(response, 403, 'A valid token is required: open the address that `npm run serve` printed.');
      return;
    }
    const ref = parseImagePath(url.pathname.slice(bridgeImagePrefix.length));
    const png = ref ? await options.service.readImage(ref) : null;
    if (!png) {
      answerText(response, 404, 'No such image in the gallery.');
      return;
    }
    response.writeHead(200, {
      'Content-Type': 'image/png',
      'Content-Length': png.byteLength,
      'Cache-Control': 'private, max-age=31536000, immutable',
    });
    response.end(png);
  }

  function answerRequest(request: IncomingMessage, response: ServerResponse): void {
    const hostHeader = acceptedHost(request, authority);
    for (const [name, value] of Object.entries(securityHeaders(hostHeader ?? authority.printed))) response.setHeader(name, value);
    if (hostHeader === null) {
      answerText(response, 421, misdirectedSentence(authority));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answerText(response, 405, `The studio answers only GET and HEAD here, not ${request.method ?? 'this method'}; the StudioApi is spoken over its WebSocket.`, { Allow: 'GET, HEAD' });
      return;
    }
    const target = requestTarget(request);
    if (!target.ok) {
      answerText(response, 400, target.problem);
      return;
    }
    if (target.url.pathname.startsWith(bridgeImagePrefix)) {
      serveImage(response, target.url).catch((error: unknown) => {
        log(`image ${target.url.pathname} failed: ${messageForUser(error)}`);
        answerText(response, 500, 'The image could not be read; the log of `npm run serve` says why.');
      });
      return;
    }
    serveStatic(request, response);
  }

  /** Refuses the upgrade with a sentence, or returns nothing when the socket may be accepted. */
  function upgradeRefusal(request: IncomingMessage): { status: number; sentence: string } | null {
    if (acceptedHost(request, authority) === null) return { status: 421, sentence: misdirectedSentence(authority) };
    const target = requestTarget(request);
    if (!target.ok) return { status: 400, sentence: target.problem };
    if (target.url.pathname !== bridgeSocketPath) return { status: 404, sentence: `The StudioApi socket is at ${bridgeSocketPath}.` };
    if (!tokenMatches(options.token, target.url.searchParams.get('token')) || !originAllowed(request, authority)) {
      return { status: 401, sentence: 'A valid token from a page of this studio is required: open the address that `npm run serve` printed.' };
    }
    return null;
  }

  function acceptUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws takes the socket over, nothing else listens for its errors (a reset mid-handshake).
    socket.on('error', (error) => log(`socket ${peerLabel(request)}: ${error.message}`));
    const refusal = upgradeRefusal(request);
    if (refusal) {
      refuseUpgrade(socket, refusal.status, refusal.sentence, securityHeaders(authority.printed));
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  }

  function attachPage(ws: WebSocket, request: IncomingMessage): void {
    const label = `page ${peerLabel(request)}`;
    // A protocol error (bad UTF-8, reserved bits, an oversized frame…) already makes ws close
    // this socket; without a listener it would also end the process.
    ws.on('error', (error) => log(`${label}: closed after a protocol error: ${error.message}`));
    const sender = pageSender(ws, queueBudget, label, log);
    const unsubscribe = options.service.onRunEvent(sender.runEvent);
    ws.on('close', unsubscribe);
    ws.on('message', (data) => {
      let call: BridgeCall;
      try {
        call = BridgeCall.parse(JSON.parse(messageText(data)));
      } catch {
        log(`${label}: closed after a message that is not a StudioApi call.`);
        ws.close(1003, malformedCallReason);
        return;
      }
      invokeOperation(options.service, call.channel, call.payload).then(
        (result) => sender.reply({ id: call.id, ok: true, result }),
        (error: unknown) => sender.reply({ id: call.id, ok: false, message: messageForUser(error) }),
      );
    });
  }

  const server: Server = createServer((request, response) => {
    try {
      answerRequest(request, response);
    } catch (error) {
      log(`${request.method ?? '?'} ${request.url ?? '?'} failed: ${messageForUser(error)}`);
      answerText(response, 500, 'The studio could not answer this request; the log of `npm run serve` says why.');
    }
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: BRIDGE_MAX_MESSAGE_BYTES });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      acceptUpgrade(request, socket, head);
    } catch (error) {
      log(`upgrade from ${peerLabel(request)} failed: ${messageForUser(error)}`);
      socket.destroy();
    }
  });
  // Node closes a CONNECT request's socket without a word when nobody listens for it.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    refuseUpgrade(socket, 405, 'The studio is not a proxy; it answers only GET and HEAD.', securityHeaders(authority.printed));
  });
  sockets.on('connection', attachPage);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log(`server: ${error.message}`));
  const bound = server.address() as AddressInfo;
  authority = loopbackAuthority(bound.address, bound.port);

  return {
    port: bound.port,
    url: `http://${authority.printed}/?token=${encodeURIComponent(options.token)}`,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
