import { createRequire } from 'node:module';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { FuseV1Options } from '@electron/fuses';
import { describe, expect, it } from 'vitest';
import config from '../../../forge.config';
import mainBuild from '../../../vite.main.config';

type GlobMatch = (path: string, pattern: string, options: { matchBase: boolean }) => boolean;
/** The glob matcher @electron/asar itself uses to decide what leaves the archive. */
const asarMatch = createRequire(createRequire(import.meta.url).resolve('@electron/asar'))('minimatch') as GlobMatch;

function pluginOf<T>(type: abstract new (...args: never[]) => T): T {
  for (const plugin of config.plugins ?? []) if (plugin instanceof type) return plugin;
  throw new Error(`forge.config.ts has no ${type.name}`);
}

describe('Electron Forge configuration', () => {
  it('flips the fuses that close the binary to Node-style abuse', () => {
    const { config: fuses } = pluginOf(FusesPlugin);
    expect(fuses).toMatchObject({
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    });
  });

  it('unpacks the native modules, shared libraries included, and nothing else', () => {
    const asar = config.packagerConfig?.asar;
    const unpack = typeof asar === 'object' ? (asar.unpack ?? '') : '';
    const matches = (path: string) => asarMatch(path, unpack, { matchBase: true });
    expect(matches('/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1')).toBe(true);
    expect(matches('/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node')).toBe(true);
    expect(matches('/app/.vite/build/main.js')).toBe(false);
  });

  it('builds the main process, the inference worker entry and the preload with Vite, and the renderer page', () => {
    const { config: vite } = pluginOf(VitePlugin);
    expect(vite.build.map((entry) => entry.target)).toEqual(['main', 'preload']);
    expect(vite.renderer.map((entry) => entry.name)).toEqual(['main_window']);
    const lib = mainBuild.build?.lib;
    expect(lib && typeof lib.entry === 'object' ? Object.keys(lib.entry) : []).toEqual(['main', 'inference-worker']);
    expect(mainBuild.build?.rollupOptions?.external).toEqual(['better-sqlite3', 'onnxruntime-node']);
  });
});
