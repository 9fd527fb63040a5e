import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

function isInside(root: string, candidate: string): boolean {
  const fromRoot = relative(root, candidate);
  return fromRoot !== '' && !fromRoot.startsWith(`..${sep}`) && fromRoot !== '..' && !isAbsolute(fromRoot);
}

/** Decodes a URL path into a path relative to a folder, or null when it cannot name a file there. */
export function relativeRequestPath(urlPathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relativePath = decoded.replace(/^\/+/, '');
  if (relativePath === '') return null;
  return relativePath;
}

/**
 * Resolves a request path to a regular file inside `root`, following links before the check
 * so that neither `..` nor a symbolic link can reach a file outside the folder; null otherwise.
 */
export async function resolveConfinedFile(root: string, urlPathname: string): Promise<string | null> {
  const relativePath = relativeRequestPath(urlPathname);
  if (relativePath === null) return null;
  const rootPath = resolve(root);
  const candidate = resolve(rootPath, relativePath);
  if (!isInside(rootPath, candidate)) return null;
  try {
    const [realRoot, realCandidate] = await Promise.all([realpath(rootPath), realpath(candidate)]);
    if (!isInside(realRoot, realCandidate)) return null;
    const info = await stat(realCandidate);
    return info.isFile() ? realCandidate : null;
  } catch {
    return null;
  }
}
