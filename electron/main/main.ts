/**
 * The Electron main process: one instance, one hardened window, and the studio (openStudio) behind
 * IPC. Everything the page may do goes through the contract's channels, checked here.
 */
import { join } from 'node:path';
import { app, BrowserWindow, dialog, session } from 'electron';
import { appEntryUrl } from './app-origin';
import { registerPrivilegedSchemes, serveAppPages, serveGalleryImages } from './app-protocols';
import { contentSecurityPolicy } from './content-security-policy';
import { registerStudioIpc } from './ipc-registration';
import { forwardRunEvents } from './run-event-forwarding';
import { createStudioWindow } from './studio-window';
import { openStudioInUserData } from './studio-host';
import { denyNavigationEverywhere, lockDownSession } from './web-contents-policy';

const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const appUrl = appEntryUrl(devServerUrl);
const policy = contentSecurityPolicy(appUrl);
const log = (line: string) => console.warn(`[studio] ${line}`);

function rendererDir(): string {
  return join(import.meta.dirname, '..', 'renderer', MAIN_WINDOW_VITE_NAME);
}

async function start(): Promise<void> {
  lockDownSession(session.defaultSession, appUrl, policy);
  serveAppPages(rendererDir(), policy);
  const service = openStudioInUserData();
  serveGalleryImages((ref) => service.readImage(ref));
  registerStudioIpc(service, appUrl, log);

  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    // Let the running job write its last sample before the gallery closes.
    service.close().finally(() => app.quit());
  });

  const openWindow = () => {
    const window = createStudioWindow(join(import.meta.dirname, 'preload.cjs'));
    forwardRunEvents((listener) => service.onRunEvent(listener), window.webContents);
    void window.loadURL(appUrl.href);
    return window;
  };
  openWindow();
  // Once the window is loading, so the first Generate finds the worker started and the model open.
  void service.preloadDefaultModel();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
}

registerPrivilegedSchemes();
denyNavigationEverywhere(appUrl, log);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      dialog.showErrorBox('Guided Diffusion Studio could not start', reason);
      app.exit(1);
    });
}
