/**
 * The token kept in the data folder, so that a restart of `serve` keeps every open page's
 * address valid and the page can reconnect on its own. The file is readable by its owner only;
 * `--rotate-token` writes a new one, which ends every old address.
 */
import { randomAccessToken, tokenProblem } from './access-token';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const tokenFileName = 'serve-token';

export function tokenFilePath(dataDir: string): string {
  return path.join(dataDir, tokenFileName);
}

function writeToken(file: string, token: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already exists; the token must not stay readable by others.
  chmodSync(file, 0o600);
}

/**
 * The token of this data folder: the stored one, or a new random one (stored) when there is none,
 * when `rotate` asks for a new one, or when the stored one could not guard the bridge.
 */
export function loadOrCreateToken(dataDir: string, rotate = false): { token: string; created: boolean } {
  const file = tokenFilePath(dataDir);
  if (!rotate && existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (tokenProblem(stored) === null) {
      chmodSync(file, 0o600);
      return { token: stored, created: false };
    }
  }
  const token = randomAccessToken();
  writeToken(file, token);
  return { token, created: true };
}
