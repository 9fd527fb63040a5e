import { describe, expect, it } from 'vitest';
import { appEntryUrl } from '../../../electron/main/app-origin';
import { contentSecurityPolicy } from '../../../electron/main/content-security-policy';
import { bridgeContentSecurityPolicy } from '../../../electron/serve/security-headers';

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/);
      return [name ?? '', sources];
    }),
  );
}

describe('content security policy', () => {
  const packaged = directives(contentSecurityPolicy(appEntryUrl(undefined)));

  it('loads scripts and styles only from the app, with nothing inline or evaluated', () => {
    expect(packaged.get('default-src')).toEqual([`'none'`]);
    expect(packaged.get('script-src')).toEqual([`'self'`]);
    expect(packaged.get('style-src')).toEqual([`'self'`]);
    expect([...packaged.values()].flat().filter((source) => source.startsWith(`'unsafe`))).toEqual([]);
  });

  it('reaches no other host and cannot be framed or redirect forms', () => {
    expect(packaged.get('connect-src')).toEqual([`'self'`]);
    expect(packaged.get('frame-ancestors')).toEqual([`'none'`]);
    expect(packaged.get('form-action')).toEqual([`'none'`]);
    expect(packaged.get('object-src')).toEqual([`'none'`]);
    expect(packaged.get('img-src')).toEqual([`'self'`, 'data:', 'blob:', 'studio-image:']);
  });

  it('allows the dev server its hot-reload socket and injected styles only while developing', () => {
    const developing = directives(contentSecurityPolicy(appEntryUrl('http://localhost:5173')));
    expect(developing.get('connect-src')).toEqual([`'self'`, 'ws://localhost:5173']);
    expect(developing.get('style-src')).toEqual([`'self'`, `'unsafe-inline'`]);
    expect(developing.get('script-src')).toEqual([`'self'`]);
  });
});

describe('the two policies, to the letter', () => {
  // Written out by hand: any source added to or dropped from either header fails here.
  it('the packaged window allows nothing but its own scripts, styles, fonts and the gallery images', () => {
    expect(contentSecurityPolicy(appEntryUrl(undefined))).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: studio-image:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });

  it('the development window adds only inline styles and the dev server socket', () => {
    expect(contentSecurityPolicy(new URL('http://localhost:5173/'))).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: studio-image:; connect-src 'self' ws://localhost:5173; font-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });

  it('serve allows its own origin and the socket on the host the page was loaded from', () => {
    expect(bridgeContentSecurityPolicy('127.0.0.1:8123')).toBe(
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws://127.0.0.1:8123; font-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });
});
