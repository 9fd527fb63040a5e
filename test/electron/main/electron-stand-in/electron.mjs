/**
 * Stands in for the `electron` module when the built main bundle runs under plain Node:
 * records what the app asks of Electron so a test can drive the handlers it registered.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const recorded = { schemes: [], protocolHandlers: new Map(), ipcHandlers: new Map(), appListeners: new Map(), windows: [], session: {} };
globalThis.electronStandIn = recorded;

const userData = process.env.STUDIO_USER_DATA ?? mkdtempSync(join(tmpdir(), 'studio-user-data-'));

export const app = {
  isPackaged: false,
  getAppPath: () => process.env.STUDIO_APP_PATH ?? process.cwd(),
  getPath: (name) => (name === 'userData' ? userData : tmpdir()),
  getVersion: () => '0.0.0-test',
  requestSingleInstanceLock: () => true,
  on: (event, listener) => recorded.appListeners.set(event, listener),
  whenReady: () => Promise.resolve(),
  quit: () => {
    recorded.quitCalled = true;
  },
  exit: (code) => {
    recorded.exitCode = code;
  },
};

export const protocol = {
  registerSchemesAsPrivileged: (schemes) => recorded.schemes.push(...schemes),
  handle: (scheme, handler) => recorded.protocolHandlers.set(scheme, handler),
};

export const ipcMain = {
  handle: (channel, listener) => recorded.ipcHandlers.set(channel, listener),
  removeHandler: (channel) => recorded.ipcHandlers.delete(channel),
};

export const dialog = {
  showErrorBox: (title, message) => {
    recorded.errorBox = `${title}: ${message}`;
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (handler) => (recorded.session.permissionRequest = handler),
    setPermissionCheckHandler: (handler) => (recorded.session.permissionCheck = handler),
    setDevicePermissionHandler: (handler) => (recorded.session.devicePermission = handler),
    setDisplayMediaRequestHandler: (handler) => (recorded.session.displayMedia = handler),
    webRequest: {
      onBeforeRequest: (listener) => (recorded.session.beforeRequest = listener),
      onHeadersReceived: (listener) => (recorded.session.headersReceived = listener),
    },
  },
};

export class BrowserWindow {
  static getAllWindows() {
    return recorded.windows;
  }

  constructor(options) {
    this.options = options;
    this.sent = [];
    this.webContents = { isDestroyed: () => false, send: (channel, payload) => this.sent.push([channel, payload]) };
    recorded.windows.push(this);
  }

  once() {}

  loadURL(url) {
    this.loadedUrl = url;
    return Promise.resolve();
  }
}

export default { app, protocol, ipcMain, dialog, session, BrowserWindow };
