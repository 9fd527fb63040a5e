/** A token too short to guard the bridge is refused by startBridge and by `serve --token`. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { accessTokenArgument, minimumTokenLength, randomAccessToken, tokenProblem } from '../../../electron/serve/access-token';
import { startBridge } from '../../../electron/serve/bridge-server';
import { openStudio, removeFolder } from '../service/studio-fixture';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('tokenProblem', () => {
  it('accepts a random token and 22 base64url characters (132 bits)', () => {
    expect(tokenProblem(randomAccessToken())).toBeNull();
    expect(tokenProblem('AbCdEfGhIjKlMnOpQrSt-_')).toBeNull();
    // 32 hex digits, as `openssl rand -hex 16` prints: 128 bits.
    expect(tokenProblem('0123456789abcdef0123456789abcdef')).toBeNull();
  });

  it.each([
    ['the empty token', ''],
    ['one character', 'a'],
    ['21 characters', 'AbCdEfGhIjKlMnOpQrSt-'],
  ])('refuses %s with the length it needs and the length it got', (_case, token) => {
    expect(tokenProblem(token)).toBe(
      `The token must be at least 22 characters long (128 bits, e.g. \`openssl rand -base64 16 | tr '+/' '-_' | tr -d =\`), but it has ${token.length}; leave --token out to get a random one.`,
    );
  });

  it.each([
    ['a space', 'a token with spaces in it, long enough'],
    ['an ampersand', 'AbCdEfGhIjKlMnOpQrStUv&admin=1'],
    ['a non-ASCII letter', 'AbCdEfGhIjKlMnOpQrStUvé'],
  ])('refuses a token with %s, which would not travel unchanged in the address', (_case, token) => {
    expect(tokenProblem(token)).toMatch(/only letters, digits, "-" and "_"/);
  });

  it('is the minimum the bridge documents', () => {
    expect(minimumTokenLength).toBe(22);
    expect(tokenProblem('x'.repeat(minimumTokenLength - 1))).not.toBeNull();
    expect(tokenProblem('x'.repeat(minimumTokenLength))).toBeNull();
  });
});

describe('startBridge', () => {
  it.each(['', 'short', 'AbCdEfGhIjKlMnOpQrSt-'])('refuses to start with the token %j and opens no port', async (token) => {
    const studio = openStudio();
    try {
      await expect(startBridge({ service: studio.service, rendererDir: repositoryRoot, token, port: 0 })).rejects.toThrow(/at least 22 characters/);
    } finally {
      await studio.close();
      removeFolder(studio.dataDir);
    }
  });
});

describe('serve --token', () => {
  it('parses a strong token and refuses a short one as an invalid argument', () => {
    const token = randomAccessToken();
    expect(accessTokenArgument(token)).toBe(token);
    expect(() => accessTokenArgument('short')).toThrow(InvalidArgumentError);
    expect(() => accessTokenArgument('')).toThrow(/at least 22 characters long .* but it has 0/);
  });

  it('exits with status 1 and the sentence on stderr before it starts anything', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gds-serve-token-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(repositoryRoot, 'electron/serve/main.ts'), '--data', dataDir, '--port', '0', '--token', 'short'], {
        cwd: repositoryRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("option '--token <token>' argument 'short' is invalid");
      expect(run.stderr).toContain('The token must be at least 22 characters long');
      expect(run.stdout).not.toContain('Studio ready');
    } finally {
      removeFolder(dataDir);
    }
  });
});
