/** Short text answers with a sentence, on a response or on a socket that asked to upgrade. */
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export function answerText(response: ServerResponse, status: number, sentence: string, headers: OutgoingHttpHeaders = {}): void {
  if (response.headersSent) {
    // Part of another answer is already on its way; a second status line cannot follow it.
    response.destroy();
    return;
  }
  const body = `${sentence}\n`;
  response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

/** Refuses a WebSocket upgrade: the socket still speaks HTTP/1.1 at this point. */
export function refuseUpgrade(socket: Duplex, status: number, sentence: string, headers: Record<string, string> = {}): void {
  const body = `${sentence}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  // Closed once written: a client that never hangs up must not keep the socket.
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
