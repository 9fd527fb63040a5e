/**
 * Each class of bad input a client can send `serve`, over real sockets to a real bridge; after
 * each, the same bridge must still answer a page and a StudioApi call.
 */
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, connect, indexHtml, pageClient, socketUrl, startTestBridge, testToken, type BridgeFixture } from './bridge-fixture';
import { headerOf, maskedFrame, rawExchange, rawRequest, rawWebSocket, type ClientFrame } from './raw-client';

let fixture: BridgeFixture;
let port: number;

beforeAll(async () => {
  fixture = await startTestBridge();
  port = fixture.port;
});

afterAll(async () => {
  await fixture.close();
});

async function expectStillServing(): Promise<void> {
  const page = await fetch(`http://127.0.0.1:${port}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toBe(indexHtml);
  const socket = await connect(socketUrl(port));
  expect(await pageClient(socket).call('models:list')).toMatchObject({ ok: true, result: [{ id: 'linear-8px' }] });
  socket.close();
}

describe('the static files answer any Range header without throwing', () => {
  const size = Buffer.byteLength(indexHtml);

  it.each(['bytes=10-5', `bytes=${size}-`, `bytes=${size + 100}-${size + 200}`, 'bytes=-0'])('answers 416 to the unsatisfiable %s', async (range) => {
    for (const path of ['/index.html', '/']) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { Range: range } });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(await response.text()).toMatch(/outside the file, which has \d+ bytes/);
    }
    await expectStillServing();
  });

  it('sends the asked bytes of a satisfiable range, a suffix range included', async () => {
    const first = await fetch(`http://127.0.0.1:${port}/index.html`, { headers: { Range: 'bytes=0-8' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-8/${size}`);
    expect(await first.text()).toBe('<!doctype');
    const last = await fetch(`http://127.0.0.1:${port}/index.html`, { headers: { Range: 'bytes=-5' } });
    expect(last.status).toBe(206);
    expect(last.headers.get('content-range')).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
    expect(await last.text()).toBe(indexHtml.slice(-5));
  });

  it.each(['bytes=abc', 'bytes=0-1,4-6', 'items=0-4', 'bytes=', '='])('sends the whole file for the malformed or multiple range %s', async (range) => {
    const response = await fetch(`http://127.0.0.1:${port}/index.html`, { headers: { Range: range } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(indexHtml);
    await expectStillServing();
  });
});

describe('only requests addressed to the loopback names are answered (DNS rebinding)', () => {
  it('answers the page for 127.0.0.1:PORT and localhost:PORT in any letter case', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`]) {
      const answer = await rawRequest(port, 'GET / HTTP/1.1', { Host: host });
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe(indexHtml);
    }
  });

  it.each([
    ['another site', 'evil.example'],
    ['another site on the same port', `evil.example:${port}`],
    ['the right address on another port', `127.0.0.1:${port + 1}`],
    ['the address without its port', '127.0.0.1'],
    ['a longer name that starts like ours', `localhost:${port}.evil.example`],
    ['user information', `127.0.0.1:${port}@evil.example`],
    ['bytes outside ASCII', `127.0.0.1:${port}\u00ff`],
    ['an empty value', ''],
  ])('answers 421 with a sentence to a Host of %s', async (_case, host) => {
    const answer = await rawRequest(port, 'GET / HTTP/1.1', { Host: host });
    expect(answer.status).toBe(421);
    expect(answer.body.toString()).toContain(`http://127.0.0.1:${port}`);
    expect(answer.body.toString()).not.toContain('Guided Diffusion Studio');
    await expectStillServing();
  });

  it('answers 421 to a request without Host (HTTP/1.0)', async () => {
    const answer = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n');
    expect(answer.status).toBe(421);
    await expectStillServing();
  });

  it('answers 421 to a WebSocket upgrade with a foreign Host, even with the token', async () => {
    await expect(connect(socketUrl(port), { Host: `evil.example:${port}` })).rejects.toThrow('HTTP 421');
    await expect(connect(socketUrl(port), { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` })).rejects.toThrow('HTTP 421');
    await expectStillServing();
  });

  it('refuses images for a foreign Host even with the token', async () => {
    const answer = await rawRequest(port, `GET /images/sample/1.png?token=${testToken} HTTP/1.1`, { Host: `rebound.example:${port}` });
    expect(answer.status).toBe(421);
  });

  it('answers 400 to a Host with control characters, through the HTTP parser', async () => {
    const answer = await rawRequest(port, 'GET / HTTP/1.1', { Host: `127.0.0.1:${port}\u0001` });
    expect(answer.status).toBe(400);
    await expectStillServing();
  });
});

describe('a WebSocket protocol error closes only that socket', () => {
  const cases: [string, ClientFrame, number][] = [
    ['a text frame that is not UTF-8', { opcode: 0x1, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }, 1007],
    ['a frame with a reserved bit set', { opcode: 0x1, payload: Buffer.from('{}'), reservedBits: 0b100 }, 1002],
    ['an unknown opcode', { opcode: 0x3, payload: Buffer.from('{}') }, 1002],
    ['a ping over 125 bytes', { opcode: 0x9, payload: Buffer.alloc(126, 0x61) }, 1002],
    ['a frame over the size limit', { opcode: 0x2, declaredLength: 97 * 1024 * 1024 }, 1009],
  ];

  it.each(cases)('closes the socket that sent %s, logs it, and keeps serving', async (_case, frame, expectedCode) => {
    const bystander = await connect(socketUrl(port));
    const raw = await rawWebSocket(port, `/studio?token=${testToken}`);
    const logged = fixture.logs.length;
    raw.socket.write(maskedFrame(frame));
    expect(await raw.closed).toBe(expectedCode);
    expect(fixture.logs.slice(logged).join('\n')).toMatch(/closed after a protocol error/);
    expect(await pageClient(bystander).call('gallery:facets')).toMatchObject({ ok: true });
    bystander.close();
    await expectStillServing();
  });

  it.each([
    ['text that is not JSON', 'not json at all'],
    ['JSON that is not a call', JSON.stringify({ hello: 'world' })],
    ['a call with a negative id', JSON.stringify({ id: -1, channel: 'models:list' })],
    ['a call with a channel name too long', JSON.stringify({ id: 1, channel: 'x'.repeat(65) })],
  ])('closes the socket that sent %s with 1003 and a reason, and keeps serving', async (_case, message) => {
    const socket = await connect(socketUrl(port));
    const closing = closed(socket);
    socket.send(message);
    expect(await closing).toEqual({ code: 1003, reason: expect.stringMatching(/not a StudioApi call/) });
    await expectStillServing();
  });

  it('survives a client that resets the connection in the middle of the handshake', async () => {
    const halfway = connectTcp(port, '127.0.0.1');
    halfway.on('error', () => undefined);
    await once(halfway, 'connect');
    halfway.write(`GET /studio?token=${testToken} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`);
    halfway.resetAndDestroy();
    await once(halfway, 'close');
    const raw = await rawWebSocket(port, `/studio?token=${testToken}`);
    raw.socket.resetAndDestroy();
    await raw.closed;
    await expectStillServing();
  });
});

describe('long or hostile request lines and headers get a 4xx answer', () => {
  it('answers 431 to a 1 MiB URL and to a 1 MiB header', async () => {
    const longUrl = await rawRequest(port, `GET /${'a'.repeat(1024 * 1024)} HTTP/1.1`);
    expect(longUrl.status).toBe(431);
    const longHeader = await rawRequest(port, 'GET / HTTP/1.1', { 'X-Padding': 'b'.repeat(1024 * 1024) });
    expect(longHeader.status).toBe(431);
    await expectStillServing();
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'])('answers 405 with Allow to %s', async (method) => {
    const answer = await rawRequest(port, `${method} / HTTP/1.1`, { 'Content-Length': '0' });
    expect(answer.status).toBe(405);
    expect(headerOf(answer, 'Allow')).toBe('GET, HEAD');
    expect(answer.body.toString()).toContain(`not ${method}`);
    await expectStillServing();
  });

  it('answers 405 to CONNECT instead of dropping the connection', async () => {
    const answer = await rawRequest(port, 'CONNECT evil.example:443 HTTP/1.1');
    expect(answer.status).toBe(405);
    await expectStillServing();
  });

  it('answers 400 to a method the HTTP parser does not know', async () => {
    expect((await rawRequest(port, 'BREW / HTTP/1.1')).status).toBe(400);
    await expectStillServing();
  });

  it.each([
    ['a climbing path', '/../../etc/passwd'],
    ['a climbing path, escaped', '/%2e%2e/%2e%2e/etc/passwd'],
    ['a climbing image path', `/images/../../etc/passwd?token=${testToken}`],
    ['a NUL', '/index.html%00.png'],
    ['a NUL in an image path', `/images/sample/1.png%00?token=${testToken}`],
    ['a broken %-escape', '/%E0%A4%A'],
    ['an absolute URL', 'http://evil.example/'],
    ['an absolute URL the URL parser refuses', 'http://['],
    ['a scheme-relative path', '//evil.example/index.html'],
    ['an asterisk', '*'],
  ])('answers 400 to %s', async (_case, target) => {
    const answer = await rawRequest(port, `GET ${target} HTTP/1.1`);
    expect(answer.status).toBe(400);
    expect(answer.body.toString()).toMatch(/address/);
    await expectStillServing();
  });

  it('answers 404 to a page the studio does not have', async () => {
    const answer = await rawRequest(port, 'GET /etc/passwd HTTP/1.1');
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toMatch(/no such page/);
  });

  it('still answers after a burst of 200 hostile requests at once', async () => {
    const burst = Array.from({ length: 200 }, (_, index) =>
      index % 2 === 0
        ? fetch(`http://127.0.0.1:${port}/index.html`, { headers: { Range: 'bytes=10-5' } }).then((response) => response.status)
        : rawRequest(port, 'GET http://[ HTTP/1.1').then((answer) => answer.status),
    );
    expect(new Set(await Promise.all(burst))).toEqual(new Set([416, 400]));
    await expectStillServing();
  });
});
