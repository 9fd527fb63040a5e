/**
 * Bytes on a plain TCP socket, for requests and frames no well-behaved client library would
 * send. Client frames are masked by hand (RFC 6455 §5.2–5.3).
 */
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without a status line. */
  status: number;
  head: string;
  body: Buffer;
}

function parseAnswer(bytes: Buffer): RawAnswer {
  const end = bytes.indexOf('\r\n\r\n');
  const head = (end === -1 ? bytes : bytes.subarray(0, end)).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  return { status: status ? Number(status[1]) : 0, head, body: end === -1 ? Buffer.alloc(0) : bytes.subarray(end + 4) };
}

/** Sends `request` as it is and collects everything until the server hangs up. */
export function rawExchange(port: number, request: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connectTcp(port, '127.0.0.1');
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may hang up before a long request is written; what it said is still the answer.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks))));
    socket.write(request);
  });
}

/** A request with `Connection: close`, so the server hangs up after answering. */
export function rawRequest(port: number, requestLine: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const lines = [requestLine, ...Object.entries({ Host: `127.0.0.1:${port}`, Connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}`)];
  return rawExchange(port, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
}

export function headerOf(answer: RawAnswer, name: string): string | undefined {
  const line = answer.head.split('\r\n').find((candidate) => candidate.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

export interface ClientFrame {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** RSV1..RSV3 as three bits, 0b100 = RSV1. */
  reservedBits?: number;
  /** The length written in the header, when it should differ from the payload's. */
  declaredLength?: number;
}

export function maskedFrame({ opcode, payload = Buffer.alloc(0), fin = true, reservedBits = 0, declaredLength = payload.length }: ClientFrame): Buffer {
  const first = (fin ? 0x80 : 0) | (reservedBits << 4) | opcode;
  let header: Buffer;
  if (declaredLength < 126) {
    header = Buffer.from([first, 0x80 | declaredLength]);
  } else if (declaredLength < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt8(first, 0);
    header.writeUInt8(0x80 | 126, 1);
    header.writeUInt16BE(declaredLength, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(first, 0);
    header.writeUInt8(0x80 | 127, 1);
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  return Buffer.concat([header, mask, masked]);
}

/** The status code of the first close frame among the server's (unmasked) frames; 0 for none. */
function closeCode(frames: Buffer): number {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at]! & 0x0f;
    let length = frames[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = frames.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(frames.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8) return length >= 2 ? frames.readUInt16BE(start) : 0;
    at = start + length;
  }
  return 0;
}

export interface RawWebSocket {
  socket: Socket;
  /** Resolves with the code of the server's close frame (0 if it hung up without one) once the socket has closed. */
  closed: Promise<number>;
}

/** Performs the opening handshake by hand; resolves once the server has said 101. */
export function rawWebSocket(port: number, path: string): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolveClosed) => {
      socket.on('close', () => {
        resolveClosed(closeCode(received.subarray(received.indexOf('\r\n\r\n') + 4)));
      });
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (upgraded || received.indexOf('\r\n\r\n') === -1) return;
      upgraded = true;
      if (received.subarray(0, 12).toString() !== 'HTTP/1.1 101') reject(new Error(`no upgrade: ${received.toString()}`));
      else resolve({ socket, closed });
    });
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
  });
}
