/**
 * Builds the renderer once for the whole end-to-end run, into a folder of its own, and hands it to
 * every `serve` the tests start (serve-process), so no test's launch pays the build and the page
 * stays the same for the run while others edit the sources. The build time is reported on its own.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildRenderer } from '../../electron/serve/renderer-bundle';
import { repositoryRoot } from './serve-process';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The renderer built for this run, passed to serve as --renderer. */
    rendererDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-renderer-'));
  const startedAt = performance.now();
  await buildRenderer(outDir);
  const buildMs = Math.round(performance.now() - startedAt);
  const resultsDir = path.join(repositoryRoot, 'test-results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, 'renderer-build.json'), `${JSON.stringify({ buildMs, loadAverage: loadavg().map((load) => Number(load.toFixed(2))), at: new Date().toISOString() })}\n`);
  process.stdout.write(`Renderer built once for the end-to-end run in ${(buildMs / 1000).toFixed(2)} s\n`);
  project.provide('rendererDir', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
