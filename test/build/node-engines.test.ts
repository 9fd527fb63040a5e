/**
 * The Node versions the project declares (package.json `engines`, the README) are ones every
 * locked package accepts, so `npm ci` and `npm start` run on them without EBADENGINE.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readJson = (name: string): unknown => JSON.parse(readFileSync(path.join(REPO, name), 'utf8'));

interface LockedPackage {
  engines?: { node?: string } | string[];
}

const manifest = readJson('package.json') as { engines: { node: string } };
const lock = readJson('package-lock.json') as { packages: Record<string, LockedPackage> };
const declared = manifest.engines.node;

function nodeRangeOf(entry: LockedPackage): string | null {
  const engines = entry.engines;
  if (engines === undefined || Array.isArray(engines)) return null;
  return engines.node ?? null;
}

describe('supported Node versions', () => {
  it('declares a valid range that includes the running Node', () => {
    expect(semver.validRange(declared), declared).not.toBeNull();
    expect(semver.satisfies(process.version, declared), `Node ${process.version} is outside package.json engines "${declared}"`).toBe(true);
  });

  it('every locked package accepts every declared Node version', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([folder]) => folder !== '')
      .flatMap(([folder, entry]) => {
        const range = nodeRangeOf(entry);
        return range !== null && !semver.subset(declared, range, { includePrerelease: false }) ? [`${folder} wants Node ${range}`] : [];
      });
    expect(refusing).toEqual([]);
  });

  it('the README names the same lowest Node version', () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const lowest = semver.minVersion(declared)?.version;
    expect(lowest).toBeDefined();
    expect(readme).toContain(`Node.js ${lowest}`);
  });
});
