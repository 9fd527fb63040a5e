/**
 * Headers on every HTTP answer of `serve`. The Electron window's policy
 * (electron/main/content-security-policy.ts) reads an http: address as the Vite dev server and
 * then allows inline styles, which the built renderer never needs, so the bridge states its own.
 */
import { contentSecurityPolicyText } from '../main/content-security-policy-text';

/** The page's Content-Security-Policy when it was loaded from `host` (an accepted `Host` value). */
export function bridgeContentSecurityPolicy(host: string): string {
  return contentSecurityPolicyText({
    defaultSrc: `'self'`,
    styleSrc: `'self'`,
    imgSrc: `'self' data: blob:`,
    // Chromium counts ws: on the same host as 'self', other browsers only when it is named.
    connectSrc: `'self' ws://${host}`,
  });
}

export function securityHeaders(host: string): Record<string, string> {
  return {
    'Content-Security-Policy': bridgeContentSecurityPolicy(host),
    'X-Content-Type-Options': 'nosniff',
    // The address carries the token; no request may pass it on.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
