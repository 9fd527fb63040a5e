import type { ModelManifest } from './manifest';

/**
 * The fingerprint recipes store for a model: the sha256 of its UNet weights, which is what
 * decides the images (the manifest's other fields are checked separately).
 */
export function modelSha256(manifest: ModelManifest): string {
  const sha = manifest.files[manifest.unet.file];
  if (sha === undefined) throw new Error(`The manifest of "${manifest.id}" lists no sha256 for ${manifest.unet.file}.`);
  return sha;
}
