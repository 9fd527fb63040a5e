/** Every HTTP answer of the bridge carries the security headers, whatever its status. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken, startTestBridge, type BridgeFixture } from './bridge-fixture';
import { headerOf, rawRequest, type RawAnswer } from './raw-client';

let fixture: BridgeFixture;
let port: number;

beforeAll(async () => {
  fixture = await startTestBridge();
  port = fixture.port;
});

afterAll(async () => {
  await fixture.close();
});

function directives(policy: string): Map<string, string> {
  return new Map(
    policy.split(';').map((directive) => {
      const [name = '', ...sources] = directive.trim().split(/\s+/);
      return [name, sources.join(' ')];
    }),
  );
}

function expectSecurityHeaders(answer: RawAnswer, pageHost: string): void {
  expect(headerOf(answer, 'X-Content-Type-Options')).toBe('nosniff');
  expect(headerOf(answer, 'Referrer-Policy')).toBe('no-referrer');
  expect(headerOf(answer, 'X-Frame-Options')).toBe('DENY');
  expect(headerOf(answer, 'Cross-Origin-Opener-Policy')).toBe('same-origin');
  const policy = directives(headerOf(answer, 'Content-Security-Policy') ?? '');
  expect(policy.get('default-src')).toBe(`'self'`);
  expect(policy.get('frame-ancestors')).toBe(`'none'`);
  expect(policy.get('base-uri')).toBe(`'none'`);
  expect(policy.get('form-action')).toBe(`'none'`);
  expect(policy.get('object-src')).toBe(`'none'`);
  expect(policy.get('script-src')).toBe(`'self'`);
  expect(policy.get('img-src')).toBe(`'self' data: blob:`);
  expect(policy.get('connect-src')).toBe(`'self' ws://${pageHost}`);
}

describe('security headers', () => {
  it.each([
    ['the page', 'GET / HTTP/1.1', 200],
    ['a HEAD of the page', 'HEAD /index.html HTTP/1.1', 200],
    ['a missing page', 'GET /missing.js HTTP/1.1', 404],
    ['an image without the token', 'GET /images/sample/1.png HTTP/1.1', 403],
    ['a missing image', `GET /images/sample/999999.png?token=${testToken} HTTP/1.1`, 404],
    ['a refused method', 'POST / HTTP/1.1', 405],
    ['a malformed address', 'GET /%2e%2e/etc/passwd HTTP/1.1', 400],
  ])('are on the answer to %s (%s)', async (_case, requestLine, status) => {
    const answer = await rawRequest(port, requestLine, { 'Content-Length': '0' });
    expect(answer.status).toBe(status);
    expectSecurityHeaders(answer, `127.0.0.1:${port}`);
  });

  it('are on an unsatisfiable range answer', async () => {
    const answer = await rawRequest(port, 'GET /index.html HTTP/1.1', { Range: 'bytes=10-5' });
    expect(answer.status).toBe(416);
    expectSecurityHeaders(answer, `127.0.0.1:${port}`);
  });

  it('let a page loaded from localhost connect its socket to localhost', async () => {
    const answer = await rawRequest(port, 'GET / HTTP/1.1', { Host: `localhost:${port}` });
    expectSecurityHeaders(answer, `localhost:${port}`);
  });

  it('are on the 421 for a foreign Host, naming only the bridge itself', async () => {
    const answer = await rawRequest(port, 'GET / HTTP/1.1', { Host: 'evil.example' });
    expect(answer.status).toBe(421);
    expectSecurityHeaders(answer, `127.0.0.1:${port}`);
  });

  it('are on a refused WebSocket upgrade', async () => {
    const answer = await rawRequest(port, 'GET /studio?token=wrong HTTP/1.1', { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' });
    expect(answer.status).toBe(401);
    expectSecurityHeaders(answer, `127.0.0.1:${port}`);
  });
});
