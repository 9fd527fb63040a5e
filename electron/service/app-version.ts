import { readFileSync } from 'node:fs';

/** The version recorded with every run outside Electron (which knows its own): package.json's. */
export function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return packageJson.version ?? '0.0.0';
}
