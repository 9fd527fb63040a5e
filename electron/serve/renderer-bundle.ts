/** Makes sure the built renderer exists and is newer than its sources, building it when not. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
export const rendererDir = path.join(repositoryRoot, 'renderer');
export const rendererDistDir = path.join(rendererDir, 'dist');

function newestModification(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestModification(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export function rendererBuildIsCurrent(): boolean {
  const builtIndex = path.join(rendererDistDir, 'index.html');
  if (!existsSync(builtIndex)) return false;
  const sources = Math.max(
    newestModification(path.join(rendererDir, 'src')),
    statSync(path.join(rendererDir, 'index.html')).mtimeMs,
    newestModification(path.join(repositoryRoot, 'common', 'contract')),
  );
  return statSync(builtIndex).mtimeMs >= sources;
}

/** Builds the renderer with vite into `outDir` (renderer/dist unless told otherwise). */
export async function buildRenderer(outDir = rendererDistDir): Promise<string> {
  const { build } = await import('vite');
  await build({ configFile: path.join(rendererDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

export async function ensureRendererBuilt(log: (line: string) => void): Promise<string> {
  if (rendererBuildIsCurrent()) return rendererDistDir;
  log('Building the renderer…');
  return buildRenderer();
}

/** A renderer built elsewhere (the tests build one for their whole run), checked before it is served. */
export function builtRendererAt(dir: string): string {
  const resolved = path.resolve(dir);
  if (!existsSync(path.join(resolved, 'index.html'))) {
    throw new Error(`There is no built renderer in ${resolved} (no index.html). Build one with \`npx vite build --config renderer/vite.config.ts --outDir ${resolved}\`, or leave out --renderer to serve renderer/dist.`);
  }
  return resolved;
}
