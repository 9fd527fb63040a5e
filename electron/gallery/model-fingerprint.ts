import { createHash } from 'node:crypto';
import type { ModelManifest } from '../../common/models/manifest';

/**
 * One sha256 naming a model's exact weights: the hash of its files' own sha256s, sorted
 * by file name. Two folders with the same fingerprint produce the same images.
 */
export function modelFingerprint(manifest: ModelManifest): string {
  const lines = Object.entries(manifest.files)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sha256]) => `${sha256}  ${name}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}
