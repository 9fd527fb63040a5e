import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { lookup } from 'mrmime';
import { imageProtocolScheme, type ImageRef } from '../../common/contract/studio-api';
import { appHost, appScheme, parseUrl } from './app-origin';
import { resolveConfinedFile } from './confined-file';
import { imageRefOfUrl } from './image-url';

// corsEnabled: Vite marks the page's module scripts `crossorigin`, which makes their loads CORS requests.
const privileges = { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } as const;

/** Must run before the app is ready: the schemes behave like https (own origin, secure context). */
export function registerPrivilegedSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: appScheme, privileges },
    { scheme: imageProtocolScheme, privileges },
  ]);
}

function notFound(): Response {
  return new Response('Not found.', { status: 404, headers: { 'content-type': 'text/plain' } });
}

const commonHeaders = { 'x-content-type-options': 'nosniff', 'cross-origin-resource-policy': 'same-site' };

/** Serves the built renderer from `rendererDir`, never a file outside it, with the CSP as a header. */
export function serveAppPages(rendererDir: string, contentSecurityPolicy: string): void {
  protocol.handle(appScheme, async (request) => {
    const url = parseUrl(request.url);
    if (!url || url.host !== appHost || request.method !== 'GET') return notFound();
    const pathname = url.pathname === '/' ? '/index.html' : url.pathname;
    const file = await resolveConfinedFile(rendererDir, pathname);
    if (!file) return notFound();
    const body = await readFile(file);
    return new Response(new Uint8Array(body), {
      headers: {
        ...commonHeaders,
        'content-type': lookup(file) ?? 'application/octet-stream',
        'content-security-policy': contentSecurityPolicy,
      },
    });
  });
}

/** Serves gallery images by reference; the bytes come from the gallery, never from a path in the URL. */
export function serveGalleryImages(readImage: (ref: ImageRef) => Promise<Uint8Array | null>): void {
  protocol.handle(imageProtocolScheme, async (request) => {
    const ref = request.method === 'GET' ? imageRefOfUrl(request.url) : null;
    const png = ref ? await readImage(ref) : null;
    if (!png) return notFound();
    return new Response(new Uint8Array(png), {
      headers: { ...commonHeaders, 'content-type': 'image/png', 'cache-control': 'private, max-age=31536000, immutable' },
    });
  });
}
