import { parseImagePath, type ImageRef } from '../../common/contract/studio-api';
import { imageHost, parseUrl } from './app-origin';
import { relativeRequestPath } from './confined-file';

/**
 * The gallery image a `studio-image://images/…` URL names, or null. Only the exact paths the
 * contract writes are accepted, so the handler can only ever hand out the gallery's own images.
 */
export function imageRefOfUrl(requestUrl: string): ImageRef | null {
  const url = parseUrl(requestUrl);
  if (!url || url.host !== imageHost || url.search !== '' || url.hash !== '') return null;
  const path = relativeRequestPath(url.pathname);
  return path === null ? null : parseImagePath(path);
}
