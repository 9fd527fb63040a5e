import { imageProtocolScheme } from '../../common/contract/studio-api';

/**
 * The page's Content-Security-Policy, sent as a response header with every page the app
 * serves (the page's own meta tag says the same, and a browser enforces both). Scripts and
 * styles come only from the app; images also from the gallery scheme and in-memory previews.
 */
export function contentSecurityPolicy(appUrl: URL): string {
  const developing = appUrl.protocol === 'http:';
  const directives: Record<string, string> = {
    'default-src': `'none'`,
    'script-src': `'self'`,
    // The Vite dev server injects component styles as <style> elements and updates them over a WebSocket.
    'style-src': developing ? `'self' 'unsafe-inline'` : `'self'`,
    'img-src': `'self' data: blob: ${imageProtocolScheme}:`,
    'connect-src': developing ? `'self' ws://${appUrl.host}` : `'self'`,
    'font-src': `'self'`,
    'object-src': `'none'`,
    'frame-src': `'none'`,
    'base-uri': `'none'`,
    'form-action': `'none'`,
    'frame-ancestors': `'none'`,
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources}`)
    .join('; ');
}
