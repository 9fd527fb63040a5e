import { BrowserWindow } from 'electron';

/** The studio window: an isolated, sandboxed page that can reach the main process only through the preload. */
export function createStudioWindow(preloadPath: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    title: 'Guided Diffusion Studio',
    backgroundColor: '#101216',
    webPreferences: {
      // The preload hands the page one function per contract channel and no Electron object.
      preload: preloadPath, // eng-disable PRELOAD_JS_CHECK
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      // A middle click must not open links in new windows either.
      disableBlinkFeatures: 'Auxclick',
      // A dropped PNG restores its settings in the page; the window itself must not open the file.
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  return window;
}
