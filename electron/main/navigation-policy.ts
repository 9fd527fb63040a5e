import { imageProtocolScheme } from '../../common/contract/studio-api';
import { isAppOrigin, parseUrl } from './app-origin';

/**
 * The window stays on the studio page: a link, a dropped file or a script that tries to
 * load another page is stopped. Reloading the page itself stays possible.
 */
export function mayNavigate(targetUrl: string, appUrl: URL): boolean {
  return isAppOrigin(targetUrl, appUrl);
}

/** Schemes the page may read without reaching the network. */
const localSchemes = new Set(['data:', 'blob:', 'devtools:', `${imageProtocolScheme}:`]);

/**
 * No remote content: a request leaves the app only for the Vite dev server (and its
 * hot-reload socket) while developing; everything else over the network is cancelled.
 */
export function mayRequest(requestUrl: string, appUrl: URL): boolean {
  const url = parseUrl(requestUrl);
  if (!url) return false;
  if (localSchemes.has(url.protocol)) return true;
  if (isAppOrigin(requestUrl, appUrl)) return true;
  const isDevServer = appUrl.protocol === 'http:' && url.host === appUrl.host;
  return isDevServer && (url.protocol === 'ws:' || url.protocol === 'http:');
}
