/**
 * Where the studio page comes from, and how its origin is compared. Custom schemes are
 * compared by protocol and host, because WHATWG URL gives every non-special scheme the
 * opaque origin "null".
 */

/** Scheme that serves the built renderer in the packaged app. */
export const appScheme = 'gds-app';
export const appHost = 'studio';

/** Host of gallery image URLs (`studio-image://images/sample/12.png`), as the renderer writes them. */
export const imageHost = 'images';

/** URL of the page to load: the Vite dev server while developing, the app scheme when built. */
export function appEntryUrl(devServerUrl: string | undefined): URL {
  if (devServerUrl) return new URL(devServerUrl);
  return new URL(`${appScheme}://${appHost}/index.html`);
}

/** Parses a URL, or returns null for anything that is not one. */
export function parseUrl(candidate: string): URL | null {
  try {
    return new URL(candidate);
  } catch {
    return null;
  }
}

/** True when `candidate` has the app page's protocol, host and port and carries no credentials. */
export function isAppOrigin(candidate: string, appUrl: URL): boolean {
  const url = parseUrl(candidate);
  if (!url) return false;
  return (
    url.protocol === appUrl.protocol &&
    url.host === appUrl.host &&
    url.username === '' &&
    url.password === ''
  );
}
