import { describe, expect, it } from 'vitest';
import { appEntryUrl } from '../../../electron/main/app-origin';
import { mayNavigate, mayRequest } from '../../../electron/main/navigation-policy';
import { mayGrantPermission } from '../../../electron/main/permission-policy';

const packaged = appEntryUrl(undefined);
const developing = appEntryUrl('http://localhost:5173');

describe('navigation policy', () => {
  it('lets the studio page reload itself', () => {
    expect(mayNavigate('gds-app://studio/index.html', packaged)).toBe(true);
    expect(mayNavigate('http://localhost:5173/', developing)).toBe(true);
  });

  it.each([
    'https://example.com/',
    'http://localhost:5173/',
    'file:///etc/passwd',
    'studio-image://images/sample/1.png',
    'javascript:alert(1)',
    'gds-app://other/index.html',
    'not a url',
  ])('keeps the packaged window from navigating to %s', (target) => {
    expect(mayNavigate(target, packaged)).toBe(false);
  });

  it('keeps the development window on the dev server', () => {
    expect(mayNavigate('http://localhost:5174/', developing)).toBe(false);
    expect(mayNavigate('https://localhost:5173/', developing)).toBe(false);
  });
});

describe('request policy', () => {
  it('allows the app, gallery images and in-memory data', () => {
    for (const url of ['gds-app://studio/assets/index.js', 'studio-image://images/sample/3.png', 'data:image/png;base64,AA==', 'blob:gds-app://studio/1-2']) {
      expect(mayRequest(url, packaged)).toBe(true);
    }
  });

  it('cancels every remote request of the packaged app', () => {
    for (const url of ['https://cdn.example.com/lib.js', 'http://localhost:5173/', 'ws://127.0.0.1:9000/', 'file:///home/user/secret.png']) {
      expect(mayRequest(url, packaged)).toBe(false);
    }
  });

  it('allows the dev server and its hot-reload socket while developing, nothing else remote', () => {
    expect(mayRequest('http://localhost:5173/src/main.ts', developing)).toBe(true);
    expect(mayRequest('ws://localhost:5173/', developing)).toBe(true);
    expect(mayRequest('https://fonts.example.com/font.woff2', developing)).toBe(false);
    expect(mayRequest('ws://localhost:9229/', developing)).toBe(false);
  });
});

describe('permission policy', () => {
  it('lets the studio page write the clipboard and refuses everything else', () => {
    expect(mayGrantPermission('clipboard-sanitized-write', 'gds-app://studio/index.html', packaged)).toBe(true);
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fileSystem']) {
      expect(mayGrantPermission(permission, 'gds-app://studio/index.html', packaged)).toBe(false);
    }
  });

  it('refuses even the clipboard to any other origin', () => {
    expect(mayGrantPermission('clipboard-sanitized-write', 'https://example.com', packaged)).toBe(false);
  });
});
