import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfinedFile } from '../../../electron/main/confined-file';

describe('confined file resolution', () => {
  let base: string;
  let root: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'confined-')));
    root = join(base, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html>');
    writeFileSync(join(root, 'assets', 'index-a1.js'), 'export {};');
    writeFileSync(join(root, 'assets', 'with space.css'), 'body{}');
    writeFileSync(join(base, 'secret.txt'), 'outside');
    symlinkSync(join(base, 'secret.txt'), join(root, 'escape.txt'));
    symlinkSync(base, join(root, 'parent-link'));
    symlinkSync(join(root, 'index.html'), join(root, 'inside-link.html'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('finds the files of the folder', async () => {
    expect(await resolveConfinedFile(root, '/index.html')).toBe(join(root, 'index.html'));
    expect(await resolveConfinedFile(root, '/assets/index-a1.js')).toBe(join(root, 'assets', 'index-a1.js'));
    expect(await resolveConfinedFile(root, '/assets/with%20space.css')).toBe(join(root, 'assets', 'with space.css'));
  });

  it('follows a link that stays inside the folder', async () => {
    expect(await resolveConfinedFile(root, '/inside-link.html')).toBe(join(root, 'index.html'));
  });

  it.each([
    ['a parent step', '/../secret.txt'],
    ['an encoded parent step', '/%2e%2e/secret.txt'],
    ['a nested parent step', '/assets/../../secret.txt'],
    ['a link to a file outside', '/escape.txt'],
    ['a link to a folder outside', '/parent-link/secret.txt'],
    ['a backslash path', '/..%5csecret.txt'],
    ['a NUL byte', '/index.html%00.png'],
    ['a broken escape', '/%E0%A4%A'],
    ['a folder', '/assets'],
    ['the folder itself', '/'],
    ['a missing file', '/missing.js'],
  ])('refuses %s', async (_what, pathname) => {
    expect(await resolveConfinedFile(root, pathname)).toBeNull();
  });
});
