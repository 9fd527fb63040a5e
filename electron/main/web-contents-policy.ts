import { app, type Session } from 'electron';
import { isAppOrigin } from './app-origin';
import { mayNavigate, mayRequest } from './navigation-policy';
import { mayGrantPermission } from './permission-policy';

/** Applies to every web contents the app ever creates: no navigation away, no new windows, no webviews. */
export function denyNavigationEverywhere(appUrl: URL, log: (line: string) => void): void {
  app.on('web-contents-created', (_event, contents) => {
    const stayOnAppPage = (event: { url: string; preventDefault(): void }) => {
      if (mayNavigate(event.url, appUrl)) return;
      event.preventDefault();
      log(`blocked navigation to ${event.url}`);
    };
    contents.on('will-navigate', stayOnAppPage);
    contents.on('will-redirect', stayOnAppPage);
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      log(`blocked a new window for ${url}`);
      return { action: 'deny' };
    });
  });
}

/**
 * Permission requests are refused and remote requests cancelled; pages from the Vite dev
 * server get the CSP as a header too, as the app scheme sends it in the packaged app.
 */
export function lockDownSession(session: Session, appUrl: URL, contentSecurityPolicy: string): void {
  session.setPermissionRequestHandler((contents, permission, callback) => {
    callback(mayGrantPermission(permission, contents.getURL(), appUrl));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    mayGrantPermission(permission, requestingOrigin, appUrl),
  );
  session.setDevicePermissionHandler(() => false);
  session.setDisplayMediaRequestHandler((_request, callback) => callback({}));
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !mayRequest(details.url, appUrl) });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppOrigin(details.url, appUrl)) {
      callback({});
      return;
    }
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy] } });
  });
}
