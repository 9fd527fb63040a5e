import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ViteConfigGenerator from '@electron-forge/plugin-vite/dist/ViteConfig';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { build, mergeConfig } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeChannels } from '../../../common/contract/channels';
import config from '../../../forge.config';
import { untrustedSenderMessage } from '../../../electron/main/ipc-reply';

const projectDir = resolve(import.meta.dirname, '../../..');
const standIn = join(import.meta.dirname, 'electron-stand-in');
// Inside the project, so the bundle finds the native modules in node_modules as it would in the app.
const cacheDir = join(projectDir, 'node_modules', '.cache');
mkdirSync(cacheDir, { recursive: true });
const scratch = mkdtempSync(join(cacheDir, 'main-bundle-'));

/** Builds main, inference worker and preload exactly as Electron Forge would, into `outDir`. */
async function buildLikeForge(outDir: string): Promise<void> {
  const vitePlugin = config.plugins?.find((plugin) => plugin instanceof VitePlugin);
  if (!(vitePlugin instanceof VitePlugin)) throw new Error('forge.config.ts has no Vite plugin');
  const configs = await new ViteConfigGenerator(vitePlugin.config, projectDir, true).getBuildConfigs();
  for (const forgeConfig of configs) {
    await build(mergeConfig(forgeConfig, { configFile: false, logLevel: 'silent', build: { outDir, minify: false, sourcemap: false } }));
  }
}

/** What the bundled main process did, observed by running it under Node against an Electron stand-in. */
interface Observations {
  errorBox: string | null;
  schemes: string[];
  singleInstance: boolean;
  webPreferences: Record<string, unknown> | null;
  loadedUrl: string | null;
  channels: string[];
  indexPage: { status: number; type: string | null; csp: string | null };
  script: { status: number; type: string | null };
  escape: { status: number };
  missingImage: { status: number };
  listModels: unknown;
  fromOtherSite: unknown;
  badPayload: { ok: boolean; message?: string };
  remoteRequest: { cancel: boolean };
  cameraPermission: boolean;
  navigation: { reload: boolean; toOtherSite: boolean; redirectToFile: boolean; webviewAttached: boolean; newWindow: string };
  quitAfterClosing: boolean;
  run: {
    started: boolean;
    eventChannels: string[];
    eventTypes: string[];
    finished: { status: string; message: string | null; sampleCount: number } | null;
    samples: number;
    image: { status: number; type: string | null } | null;
  };
}

describe('the built main process', () => {
  let seen: Observations;

  beforeAll(async () => {
    await buildLikeForge(join(scratch, 'build'));
    const page = join(scratch, 'renderer', 'main_window');
    mkdirSync(join(page, 'assets'), { recursive: true });
    writeFileSync(join(page, 'index.html'), '<!doctype html><script type="module" src="./assets/app.js"></script>');
    writeFileSync(join(page, 'assets', 'app.js'), 'export {};');
    // A converted model dropped into the user-data models folder, as a user would.
    const userData = join(scratch, 'user-data');
    cpSync(join(projectDir, 'test', 'fixtures', 'tiny-model'), join(userData, 'models', 'tiny-model'), { recursive: true });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', join(standIn, 'register.mjs'), join(standIn, 'drive-main.mjs'), join(scratch, 'build', 'main.js'), 'sample'],
      { env: { ...process.env, STUDIO_APP_PATH: projectDir, STUDIO_USER_DATA: userData }, timeout: 180_000 },
    );
    seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Observations;
  }, 300_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts as a single instance with a sandboxed, isolated window on the app scheme', () => {
    expect(seen.errorBox).toBeNull();
    expect(seen.singleInstance).toBe(true);
    expect(seen.schemes).toEqual(['gds-app', 'studio-image']);
    expect(seen.loadedUrl).toBe('gds-app://studio/index.html');
    expect(seen.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(String(seen.webPreferences?.preload)).toMatch(/preload\.cjs$/);
  });

  it('answers every contract channel and nothing else', () => {
    expect(seen.channels).toEqual(Object.values(invokeChannels).sort());
    // The built-in model shipped with the app, and the one dropped into the user-data folder.
    expect(seen.listModels).toMatchObject({
      ok: true,
      result: expect.arrayContaining([expect.objectContaining({ id: 'fashion-mnist' }), expect.objectContaining({ id: 'tiny-test' })]),
    });
    expect(seen.fromOtherSite).toEqual({ ok: false, message: untrustedSenderMessage });
    expect(seen.badPayload.ok).toBe(false);
    expect(seen.badPayload.message).toContain('modelId');
  });

  it('serves the page with its CSP header, and no file outside it', () => {
    expect(seen.indexPage.status).toBe(200);
    expect(seen.indexPage.type).toMatch(/^text\/html/);
    expect(seen.indexPage.csp).toContain(`script-src 'self'`);
    expect(seen.script).toMatchObject({ status: 200, type: 'text/javascript' });
    expect(seen.escape.status).toBe(404);
    expect(seen.missingImage.status).toBe(404);
  });

  it('keeps every web contents on the studio page: no navigation away, no webview, no new window', () => {
    expect(seen.navigation).toEqual({ reload: true, toOtherSite: false, redirectToFile: false, webviewAttached: false, newWindow: 'deny' });
  });

  it('cancels remote requests, refuses permissions, and closes the service before quitting', () => {
    expect(seen.remoteRequest).toEqual({ cancel: true });
    expect(seen.cameraPermission).toBe(false);
    expect(seen.quitAfterClosing).toBe(true);
  });

  it('samples through IPC and the inference worker, pushes run events to the window, and serves the stored image', () => {
    expect(seen.run.started).toBe(true);
    expect(seen.run.finished).toMatchObject({ status: 'completed', sampleCount: 1 });
    expect(seen.run.eventChannels).toEqual(['run:progress']);
    expect(seen.run.eventTypes).toEqual(expect.arrayContaining(['started', 'step', 'sample', 'finished']));
    expect(seen.run.samples).toBe(1);
    expect(seen.run.image).toMatchObject({ status: 200, type: 'image/png' });
  });
});
