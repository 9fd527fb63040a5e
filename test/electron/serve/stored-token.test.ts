import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { minimumTokenLength } from '../../../electron/serve/access-token';
import { loadOrCreateToken, tokenFilePath } from '../../../electron/serve/stored-token';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-token-'));
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const permissionsOf = (file: string) => statSync(file).mode & 0o777;

describe('the token stored in the data folder', () => {
  it('is created on the first start, readable by its owner only, and kept by the next start', () => {
    const first = loadOrCreateToken(dataDir);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(new RegExp(`^[A-Za-z0-9_-]{${minimumTokenLength},}$`));
    expect(readFileSync(tokenFilePath(dataDir), 'utf8').trim()).toBe(first.token);
    if (process.platform !== 'win32') expect(permissionsOf(tokenFilePath(dataDir))).toBe(0o600);

    const second = loadOrCreateToken(dataDir);
    expect(second).toEqual({ token: first.token, created: false });
  });

  it('is replaced by a new one when rotated', () => {
    const first = loadOrCreateToken(dataDir);
    const rotated = loadOrCreateToken(dataDir, true);
    expect(rotated.created).toBe(true);
    expect(rotated.token).not.toBe(first.token);
    expect(loadOrCreateToken(dataDir).token).toBe(rotated.token);
  });

  it('replaces a stored token too weak to guard the bridge', () => {
    writeFileSync(tokenFilePath(dataDir), 'short\n');
    const loaded = loadOrCreateToken(dataDir);
    expect(loaded.created).toBe(true);
    expect(loaded.token).not.toBe('short');
  });

  it.skipIf(process.platform === 'win32')('takes back read access others were given to the file', () => {
    const { token } = loadOrCreateToken(dataDir);
    chmodSync(tokenFilePath(dataDir), 0o644);
    expect(loadOrCreateToken(dataDir).token).toBe(token);
    expect(permissionsOf(tokenFilePath(dataDir))).toBe(0o600);
  });

  it('creates a data folder that does not exist yet', () => {
    const nested = path.join(dataDir, 'new', 'folder');
    const { token } = loadOrCreateToken(nested);
    expect(readFileSync(tokenFilePath(nested), 'utf8').trim()).toBe(token);
  });
});
