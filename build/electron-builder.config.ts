/**
 * Installers made from the app that Electron Forge packaged (`--prepackaged`): electron-builder
 * only wraps it, so fuses, asar integrity and the unpacked native modules stay as Forge left them.
 * NSIS on Windows, DMG on macOS, AppImage on Linux.
 */
import type { Configuration } from 'electron-builder';

const config: Configuration = {
  appId: 'org.guided-diffusion-studio.studio',
  productName: 'Guided Diffusion Studio',
  executableName: 'guided-diffusion-studio',
  copyright: 'Copyright © Guided Diffusion Studio contributors',
  directories: { buildResources: 'build', output: 'out/installers' },
  artifactName: 'guided-diffusion-studio-${version}-${os}-${arch}.${ext}',
  npmRebuild: false,
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    icon: 'build/icons/icon.ico',
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    createDesktopShortcut: true,
    createStartMenuShortcut: true,
    shortcutName: 'Guided Diffusion Studio',
  },
  mac: {
    target: [{ target: 'dmg', arch: ['arm64', 'x64'] }],
    icon: 'build/icons/icon.icns',
    category: 'public.app-category.graphics-design',
    hardenedRuntime: true,
  },
  dmg: {
    title: 'Guided Diffusion Studio ${version}',
  },
  linux: {
    target: [{ target: 'AppImage', arch: ['x64'] }],
    icon: 'build/icons/icon.png',
    category: 'Graphics',
    synopsis: 'Classifier-guided diffusion studio',
    description: 'Generate, browse and study images from class-guided diffusion models, offline.',
  },
};

export default config;
