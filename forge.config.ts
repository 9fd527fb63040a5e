import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ForgeConfig } from '@electron-forge/shared-types';
import { MakerZIP } from '@electron-forge/maker-zip';
import { AutoUnpackNativesPlugin } from '@electron-forge/plugin-auto-unpack-natives';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { copyNativeModules, copyBuiltInModels, nativeModules } from './build/package-hooks';
import { LINALG_GRAPHS_FOLDER } from './electron/inference/linalg-graph-files';
import { builtInModelFolders } from './electron/main/resource-paths';

const projectDir = dirname(fileURLToPath(import.meta.url));

const config: ForgeConfig = {
  packagerConfig: {
    executableName: 'guided-diffusion-studio',
    appBundleId: 'org.guided-diffusion-studio.studio',
    appCategoryType: 'public.app-category.graphics-design',
    // The packager adds .ico on Windows and .icns on macOS.
    icon: 'build/icons/icon',
    asar: {
      // onnxruntime-node loads its shared libraries from beside its .node file, so the whole module leaves the archive.
      unpack: `**/node_modules/{${nativeModules.join(',')}}/**`,
    },
  },
  rebuildConfig: {
    // onnxruntime-node ships N-API binaries that need no rebuild; better-sqlite3 is built against Electron's headers.
    onlyModules: ['better-sqlite3'],
  },
  makers: [new MakerZIP({}, ['darwin', 'linux', 'win32'])],
  hooks: {
    packageAfterCopy: async (_forgeConfig, buildPath, _electronVersion, platform, arch) => {
      await copyNativeModules(projectDir, buildPath, platform, arch);
      await copyBuiltInModels(projectDir, buildPath, builtInModelFolders);
      // The inference worker reads the metrics' graphs from resources/, where resourcePath finds them.
      await cp(join(projectDir, LINALG_GRAPHS_FOLDER), join(dirname(buildPath), LINALG_GRAPHS_FOLDER), { recursive: true });
    },
  },
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main/main.ts', config: 'vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload/preload.ts', config: 'vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
    }),
    new AutoUnpackNativesPlugin({}),
    // Fuses are flipped in the Electron binary itself, before signing.
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    }),
  ],
};

export default config;
