/**
 * Turns the app that `electron-forge package` left in out/ into this platform's installer:
 * NSIS on Windows, DMG on macOS, AppImage on Linux. Run `npm run installers`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Arch, Platform, build } from 'electron-builder';
import config from './electron-builder.config';

const platforms = {
  win32: { platform: Platform.WINDOWS, target: 'nsis' },
  darwin: { platform: Platform.MAC, target: 'dmg' },
  linux: { platform: Platform.LINUX, target: 'AppImage' },
} as const;

function installerTarget(): (typeof platforms)[keyof typeof platforms] {
  const entry = platforms[process.platform as keyof typeof platforms];
  if (!entry) throw new Error(`No installer is configured for ${process.platform}; build on Windows, macOS or Linux.`);
  return entry;
}

/** Where Electron Forge put the packaged app for this platform and architecture. */
function packagedAppPath(projectDir: string): string {
  const folder = join(projectDir, 'out', `${config.productName}-${process.platform}-${process.arch}`);
  // On macOS electron-builder takes the .app bundle itself.
  const app = process.platform === 'darwin' ? join(folder, `${config.productName}.app`) : folder;
  if (!existsSync(app)) throw new Error(`No packaged app at ${app}. Run \`npm run package\` first.`);
  return app;
}

const projectDir = resolve(import.meta.dirname, '..');
const arch = Arch[process.arch as keyof typeof Arch];
if (arch === undefined) throw new Error(`electron-builder cannot build for the ${process.arch} architecture.`);
const { platform, target } = installerTarget();
const artifacts = await build({
  projectDir,
  prepackaged: packagedAppPath(projectDir),
  targets: platform.createTarget(target, arch),
  config,
  publish: 'never',
});
for (const artifact of artifacts) console.log(artifact);
