import { isAppOrigin } from './app-origin';

/**
 * Every permission a page may ask for is refused, except writing text to the clipboard from
 * the studio page itself ("copy seed").
 */
export function mayGrantPermission(permission: string, requestingUrl: string, appUrl: URL): boolean {
  return permission === 'clipboard-sanitized-write' && isAppOrigin(requestingUrl, appUrl);
}
