import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyNativeModules, copyBuiltInModels, isForTarget } from '../../../build/package-hooks';

const projectDir = resolve(import.meta.dirname, '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'package-hooks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('packaging hooks', () => {
  it('keeps only the onnxruntime binaries of the target platform', () => {
    const bin = 'node_modules/onnxruntime-node/bin/napi-v6';
    expect(isForTarget(`${bin}/linux/x64/libonnxruntime.so.1`, 'linux', 'x64')).toBe(true);
    expect(isForTarget(`${bin}/linux/arm64/libonnxruntime.so.1`, 'linux', 'x64')).toBe(false);
    expect(isForTarget(`${bin}/win32/x64/DirectML.dll`, 'linux', 'x64')).toBe(false);
    expect(isForTarget(`${bin}/win32`, 'win32', 'x64')).toBe(true);
    expect(isForTarget(`${bin}/darwin`, 'win32', 'x64')).toBe(false);
    expect(isForTarget('node_modules/onnxruntime-node/dist/index.js', 'darwin', 'arm64')).toBe(true);
    expect(isForTarget('node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'linux', 'x64')).toBe(true);
  });

  // One npm dependency-graph query and a real copy of some 100 MB: slow on a busy disk.
  it('copies the native modules and what they load at run time, for one platform, and nothing the bundles hold', { timeout: 300_000 }, async () => {
    const buildPath = join(scratch, 'linux', 'resources', 'app');
    mkdirSync(buildPath, { recursive: true });

    const copied = await copyNativeModules(projectDir, buildPath, 'linux', 'x64');

    for (const needed of ['better-sqlite3', 'bindings', 'file-uri-to-path', 'onnxruntime-node', 'onnxruntime-common']) {
      expect(copied).toContain(`node_modules/${needed}`);
    }
    for (const bundled of ['zod', 'ws', 'pngjs', 'electron', 'vite']) {
      expect(copied).not.toContain(`node_modules/${bundled}`);
    }
    const modules = join(buildPath, 'node_modules');
    expect(existsSync(join(modules, 'better-sqlite3', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, 'bindings', 'bindings.js'))).toBe(true);
    expect(existsSync(join(modules, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node'))).toBe(true);
    expect(existsSync(join(modules, 'onnxruntime-node', 'bin', 'napi-v6', 'win32'))).toBe(false);
    expect(existsSync(join(modules, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'arm64'))).toBe(false);
    expect(existsSync(join(modules, 'zod'))).toBe(false);
  });

  it('puts the built-in model folders beside the app folder under their project path', async () => {
    const project = join(scratch, 'project');
    mkdirSync(join(project, 'models', 'fashion-mnist'), { recursive: true });
    writeFileSync(join(project, 'models', 'fashion-mnist', 'manifest.json'), '{"id":"fashion-mnist"}');
    const buildPath = join(scratch, 'resources-test', 'resources', 'app');
    mkdirSync(buildPath, { recursive: true });

    await copyBuiltInModels(project, buildPath, ['models/fashion-mnist']);

    const copied = join(scratch, 'resources-test', 'resources', 'models', 'fashion-mnist', 'manifest.json');
    expect(readFileSync(copied, 'utf8')).toBe('{"id":"fashion-mnist"}');
  });

  it('stops packaging with a sentence when a built-in model folder has no manifest', async () => {
    const project = join(scratch, 'empty-project');
    mkdirSync(join(project, 'models', 'fashion-mnist'), { recursive: true });
    const buildPath = join(scratch, 'empty-test', 'resources', 'app');

    await expect(copyBuiltInModels(project, buildPath, ['models/fashion-mnist'])).rejects.toThrow(
      'models/fashion-mnist has no manifest.json: build or restore the built-in model before packaging.',
    );
  });
});
