/**
 * The serve program and its inference worker as built JavaScript, rebuilt only when a file they
 * were built from has changed. Run from its sources, a launch compiles some two hundred TypeScript
 * modules through tsx's loader on the main thread and again in the worker, about a second of CPU
 * on a 2-core machine while the page loads on the same cores; built, it loads a few files.
 *
 * Each build goes into a folder of its own under .cache/serve and `current.json` names the newest,
 * with the size and modification time of every project file in it: a launch that finds them all
 * unchanged runs that build without looking further.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Where serve's builds go: STUDIO_SERVE_BUILDS when set (the tests' own folders), else .cache/serve. */
export const serveBuildsDir = process.env.STUDIO_SERVE_BUILDS ?? path.join(repositoryRoot, '.cache', 'serve');
const currentFileIn = (buildsDir: string): string => path.join(buildsDir, 'current.json');

/** The entries of a build: the program (serve-program.ts) and the worker that owns onnxruntime. */
const entries = {
  'serve-program': path.join(repositoryRoot, 'electron/serve/serve-program.ts'),
  'inference-worker': path.join(repositoryRoot, 'electron/inference/inference-worker.ts'),
} as const;

/**
 * Packages loaded from node_modules as they are: the native ones, vite (which builds the renderer),
 * and the Redis clients that only distributed evaluations load, on demand.
 */
const externalPackages = ['onnxruntime-node', 'better-sqlite3', 'vite', 'bullmq', 'ioredis'];

/** Files whose change asks for a new build besides the modules themselves: the locked package versions. */
const dependencyFiles = [path.join(repositoryRoot, 'package.json'), path.join(repositoryRoot, 'package-lock.json')];

/**
 * Builds other than the current one are kept a day, so a serve launched on one can still load its
 * later chunks; of those, only the newest few are kept past an hour, since every edit makes one.
 */
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000;
const KEEP_MANY_BUILDS_MS = 60 * 60 * 1000;
const MANY_BUILDS = 8;

export interface BuiltFile {
  file: string;
  size: number;
  mtimeMs: number;
}

export interface CurrentBuild {
  dir: string;
  inputs: BuiltFile[];
}

export interface BuiltServeProgram {
  /** The module that exports runServe. */
  programUrl: URL;
  /** The inference worker's entry, handed to the engine in place of its TypeScript source. */
  workerEntry: URL;
}

function builtProgram(dir: string): BuiltServeProgram {
  return {
    programUrl: pathToFileURL(path.join(dir, 'serve-program.js')),
    workerEntry: pathToFileURL(path.join(dir, 'inference-worker.js')),
  };
}

function statOf(file: string): BuiltFile | null {
  try {
    const stats = statSync(file);
    return { file, size: stats.size, mtimeMs: stats.mtimeMs };
  } catch {
    return null;
  }
}

function isBuiltFile(value: unknown): value is BuiltFile {
  if (typeof value !== 'object' || value === null) return false;
  const { file, size, mtimeMs } = value as Record<string, unknown>;
  return typeof file === 'string' && typeof size === 'number' && typeof mtimeMs === 'number';
}

/**
 * The record of the current build, or null when there is none or it is unreadable (a new build
 * replaces it). Checked by hand rather than with a zod schema: this runs on every launch, before
 * the program, and loads nothing the program does not need.
 */
function readCurrent(buildsDir: string): CurrentBuild | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(currentFileIn(buildsDir), 'utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { dir, inputs } = value as Record<string, unknown>;
  if (typeof dir !== 'string' || !Array.isArray(inputs) || !inputs.every(isBuiltFile)) return null;
  return { dir, inputs };
}

/** The current build when every file it was made from is as it was, else null. */
export function currentServeBuild(buildsDir = serveBuildsDir): BuiltServeProgram | null {
  const current = readCurrent(buildsDir);
  if (current === null) return null;
  const unchanged = current.inputs.every((input) => {
    const now = statOf(input.file);
    return now !== null && now.size === input.size && now.mtimeMs === input.mtimeMs;
  });
  if (!unchanged || statOf(path.join(current.dir, 'serve-program.js')) === null) return null;
  return builtProgram(current.dir);
}

/** Project files among a build's modules: files of the repository outside node_modules. */
function projectFiles(moduleIds: readonly string[]): string[] {
  const files = moduleIds.filter((id) => path.isAbsolute(id) && id.startsWith(repositoryRoot) && !id.includes(`${path.sep}node_modules${path.sep}`));
  return [...new Set([...files, ...dependencyFiles])].sort();
}

/** Builds into a new folder and makes it the current build. */
export async function buildServeProgram(buildsDir = serveBuildsDir): Promise<BuiltServeProgram> {
  const { build } = await import('vite');
  mkdirSync(buildsDir, { recursive: true });
  const startedAt = Date.now();
  const dir = path.join(buildsDir, `build-${startedAt}-${process.pid}`);
  const output = await build({
    configFile: false,
    envDir: false,
    publicDir: false,
    root: repositoryRoot,
    logLevel: 'warn',
    plugins: [sourceLocations()],
    ssr: { noExternal: true, external: externalPackages },
    build: {
      ssr: true,
      outDir: dir,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      rollupOptions: {
        input: entries,
        external: externalPackages,
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  });
  const outputs = Array.isArray(output) ? output : [output];
  const moduleIds = outputs.flatMap((result) => ('output' in result ? result.output.flatMap((item) => (item.type === 'chunk' ? item.moduleIds : [])) : []));
  // A file edited while the build read it may be in it either way: its record cannot match, so the next launch builds again.
  const inputs = projectFiles(moduleIds)
    .map((file) => statOf(file))
    .filter((input): input is BuiltFile => input !== null)
    .map((input) => (input.mtimeMs >= startedAt ? { ...input, mtimeMs: -1 } : input));
  writeCurrent(buildsDir, { dir, inputs });
  removeOldBuilds(buildsDir, dir, startedAt);
  return builtProgram(dir);
}

/**
 * Each module's `import.meta.url` as its source file's address: the program finds its graphs, step
 * graphs, package.json and the renderer beside its sources, wherever the build lies.
 */
function sourceLocations(): { name: string; transform(code: string, id: string): { code: string; map: null } | null } {
  const projectSource = /\.(ts|js|mjs)$/;
  return {
    name: 'gds-source-locations',
    transform(code, id) {
      if (!projectSource.test(id) || !id.startsWith(repositoryRoot) || id.includes(`${path.sep}node_modules${path.sep}`) || !code.includes('import.meta.url')) return null;
      return { code: code.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(id).href)), map: null };
    },
  };
}

/** Written aside and renamed, so a launch at the same moment reads either the old record or the new one. */
export function writeCurrent(buildsDir: string, record: CurrentBuild): void {
  const written = `${currentFileIn(buildsDir)}.${process.pid}`;
  writeFileSync(written, `${JSON.stringify(record)}\n`);
  renameSync(written, currentFileIn(buildsDir));
}

/** Removes the builds past their time (see KEEP_OLD_BUILDS_MS); `keep`, the current one, always stays. */
export function removeOldBuilds(buildsDir: string, keep: string, now: number): void {
  const others = readdirSync(buildsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && path.join(buildsDir, entry.name) !== keep)
    .map((entry) => {
      const dir = path.join(buildsDir, entry.name);
      return { dir, age: now - (statOf(dir)?.mtimeMs ?? now) };
    })
    .sort((a, b) => a.age - b.age);
  others.forEach(({ dir, age }, newer) => {
    if (age > KEEP_OLD_BUILDS_MS || (newer >= MANY_BUILDS && age > KEEP_MANY_BUILDS_MS)) rmSync(dir, { recursive: true, force: true });
  });
}

/** The current build, made first when there is none or its sources changed. */
export async function ensureServeProgramBuilt(log: (line: string) => void, buildsDir = serveBuildsDir): Promise<BuiltServeProgram> {
  const current = currentServeBuild(buildsDir);
  if (current !== null) return current;
  log('Building the serve program…');
  return buildServeProgram(buildsDir);
}
