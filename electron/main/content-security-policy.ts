import { imageProtocolScheme } from '../../common/contract/studio-api';
import { contentSecurityPolicyText } from './content-security-policy-text';

/**
 * The page's Content-Security-Policy, sent as a response header with every page the app
 * serves (the page's own meta tag says the same, and a browser enforces both). Scripts and
 * styles come only from the app; images also from the gallery scheme and in-memory previews.
 */
export function contentSecurityPolicy(appUrl: URL): string {
  const developing = appUrl.protocol === 'http:';
  return contentSecurityPolicyText({
    defaultSrc: `'none'`,
    // The Vite dev server injects component styles as <style> elements and updates them over a WebSocket.
    styleSrc: developing ? `'self' 'unsafe-inline'` : `'self'`,
    imgSrc: `'self' data: blob: ${imageProtocolScheme}:`,
    connectSrc: developing ? `'self' ws://${appUrl.host}` : `'self'`,
  });
}
