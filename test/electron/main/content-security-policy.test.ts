import { describe, expect, it } from 'vitest';
import { appEntryUrl } from '../../../electron/main/app-origin';
import { contentSecurityPolicy } from '../../../electron/main/content-security-policy';

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
