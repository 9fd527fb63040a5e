/**
 * The path a request asks for, parsed once. Only the origin form (`/path?query`) is taken: the
 * studio is no proxy, and a path that climbs (`..`) or holds a NUL names no page of it.
 */
import type { IncomingMessage } from 'node:http';

export type RequestTarget = { ok: true; url: URL } | { ok: false; problem: string };

const malformed = 'The address is malformed: ask for a path of the studio, such as the one `npm run serve` printed.';

function climbsOrHoldsNul(rawPath: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return true;
  }
  return decoded.includes('\0') || decoded.split(/[/\\]/).includes('..');
}

export function requestTarget(request: IncomingMessage): RequestTarget {
  const target = request.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//')) return { ok: false, problem: malformed };
  const rawPath = target.split('?', 1)[0] ?? '';
  if (climbsOrHoldsNul(rawPath)) {
    return { ok: false, problem: 'The address holds "..", a NUL or a broken %-escape, which no page of the studio has.' };
  }
  try {
    return { ok: true, url: new URL(target, 'http://127.0.0.1') };
  } catch {
    return { ok: false, problem: malformed };
  }
}
