/**
 * One writer of Content-Security-Policy headers for the two places that serve the page (the
 * Electron window and `serve`). Only the sources that differ between them are parameters;
 * every other directive is fixed here, so neither policy can drift looser than the other by
 * accident.
 */
export interface PolicySources {
  /** Fallback for any fetch a named directive does not cover. */
  defaultSrc: string;
  styleSrc: string;
  imgSrc: string;
  connectSrc: string;
}

export function contentSecurityPolicyText(sources: PolicySources): string {
  const directives: Record<string, string> = {
    'default-src': sources.defaultSrc,
    'script-src': `'self'`,
    'style-src': sources.styleSrc,
    'img-src': sources.imgSrc,
    'connect-src': sources.connectSrc,
    'font-src': `'self'`,
    'object-src': `'none'`,
    'frame-src': `'none'`,
    'base-uri': `'none'`,
    'form-action': `'none'`,
    'frame-ancestors': `'none'`,
  };
  return Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}
