/**
 * Packaging steps Electron Forge runs on the app folder before it becomes app.asar.
 * The Vite plugin packs only the bundles, so the native modules the bundles leave external
 * (better-sqlite3, onnxruntime-node) are copied in with their dependencies, to be rebuilt
 * for Electron and unpacked from the archive; the built-in model goes beside app.asar.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

export const nativeModules = ['better-sqlite3', 'onnxruntime-node'] as const;

interface InstalledPackage {
  location: string;
}

/**
 * npm's own command line, run by this Node: `npm run` names it in npm_execpath, which also
 * works on Windows, where `npm` is a .cmd file that only a shell can start.
 */
function npmCommand(): { command: string; args: string[] } {
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.c?js$/.test(npmCli)) return { command: process.execPath, args: [npmCli] };
  return { command: 'npm', args: [] };
}

/** Folders (relative to the project) of the native modules and of everything they depend on at run time. */
export async function runtimeClosure(projectDir: string, modules: readonly string[]): Promise<string[]> {
  const roots = modules.map((name) => `#${name}`).join(', ');
  // npm's own dependency graph; an installed package's edges are its run-time dependencies only.
  const selector = `:is(${roots}), :is(${roots}) *`;
  const npm = npmCommand();
  const { stdout } = await promisify(execFile)(npm.command, [...npm.args, 'query', selector], {
    cwd: projectDir,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packages = JSON.parse(stdout) as InstalledPackage[];
  const locations = [...new Set(packages.map((installed) => installed.location))].sort();
  for (const name of modules) {
    if (!locations.includes(`node_modules/${name}`)) {
      throw new Error(`${name} is not installed in ${projectDir}; run npm ci before packaging.`);
    }
  }
  return locations;
}

/**
 * onnxruntime-node carries its binaries for every platform (bin/napi-v6/<platform>/<arch>);
 * a package keeps only those of the platform and architecture it is made for.
 */
export function isForTarget(relativePath: string, platform: string, arch: string): boolean {
  const parts = relativePath.split(/[\\/]/);
  const binaries = parts.indexOf('napi-v6');
  if (binaries < 1 || parts[binaries - 1] !== 'bin' || !parts.includes('onnxruntime-node')) return true;
  const [targetPlatform, targetArch] = parts.slice(binaries + 1);
  if (targetPlatform !== undefined && targetPlatform !== platform) return false;
  return targetArch === undefined || targetArch === arch;
}

/** Copies the native modules and their run-time dependencies into the app folder; returns what it copied. */
export async function copyNativeModules(projectDir: string, buildPath: string, platform: string, arch: string): Promise<string[]> {
  const locations = await runtimeClosure(projectDir, nativeModules);
  for (const location of locations) {
    await cp(join(projectDir, location), join(buildPath, location), {
      recursive: true,
      dereference: true,
      filter: (source) => isForTarget(relative(projectDir, source), platform, arch),
    });
  }
  return locations;
}

/** buildPath is resources/app; each model folder keeps its project-relative path under resources/. */
export async function copyBuiltInModels(projectDir: string, buildPath: string, modelFolders: readonly string[]): Promise<void> {
  const resourcesDir = dirname(buildPath);
  for (const folder of modelFolders) {
    if (!existsSync(join(projectDir, folder, 'manifest.json'))) {
      throw new Error(`${folder} has no manifest.json: build or restore the built-in model before packaging.`);
    }
    await cp(join(projectDir, folder), join(resourcesDir, folder), { recursive: true, dereference: true });
  }
}
