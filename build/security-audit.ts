/**
 * Electronegativity over the app's own sources (main, preload, service, renderer page and
 * the packaging configuration), without node_modules, build output or the Python tools.
 * Prints every finding and the count per severity; fails when a high or medium one remains.
 * Run `npm run security`.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import run from '@doyensec/electronegativity';

const projectDir = resolve(import.meta.dirname, '..');
const scanned = ['package.json', 'forge.config.ts', 'vite.main.config.ts', 'vite.preload.config.ts', 'vite.renderer.config.ts', 'common', 'electron', 'renderer/index.html', 'renderer/src', 'build'];

const electronVersion = (JSON.parse(readFileSync(join(projectDir, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
const workDir = mkdtempSync(join(tmpdir(), 'studio-audit-'));
try {
  for (const entry of scanned) {
    const source = join(projectDir, entry);
    if (existsSync(source)) cpSync(source, join(workDir, entry), { recursive: true });
  }
  const result = await run({
    input: workDir,
    isRelative: true,
    severitySet: 'informational',
    confidenceSet: 'tentative',
    electronVersionOverride: electronVersion,
    // That check downloads Electron's release list; the audit runs offline.
    excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
  });
  const counts = new Map<string, number>();
  for (const finding of result.issues) {
    counts.set(finding.severity.name, (counts.get(finding.severity.name) ?? 0) + 1);
    const review = finding.manualReview ? ' (review)' : '';
    console.log(`${finding.severity.name.padEnd(13)} ${finding.confidence.name.padEnd(9)} ${finding.id}${review}  ${finding.file}:${finding.location.line}  ${finding.shortenedURL}`);
  }
  for (const error of result.errors) console.log(`could not parse ${error.file}: ${error.message}`);
  const severities = ['HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'];
  console.log(`electronegativity on Electron ${electronVersion}: ${severities.map((name) => `${name.toLowerCase()} ${counts.get(name) ?? 0}`).join(', ')}`);
  const blocking = (counts.get('HIGH') ?? 0) + (counts.get('MEDIUM') ?? 0);
  if (blocking > 0) {
    console.error(`${blocking} high or medium finding(s): fix them, or mark a reviewed one with an eng-disable comment that says why.`);
    process.exitCode = 1;
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
