import { type GuidanceMode, usesClassifier } from '../contract/run-request';
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

/** The sha256 of the guiding classifier's weights, or null for a model without one. */
export function classifierSha256(manifest: ModelManifest): string | null {
  if (manifest.classifier === null) return null;
  const sha = manifest.files[manifest.classifier.file];
  if (sha === undefined) throw new Error(`The manifest of "${manifest.id}" lists no sha256 for ${manifest.classifier.file}.`);
  return sha;
}

/** The sha256 of the classifier that guides a run in `mode`: null in the modes that use none. */
export function guidingClassifierSha256(manifest: ModelManifest, mode: GuidanceMode): string | null {
  return usesClassifier(mode) ? classifierSha256(manifest) : null;
}

/** What a recipe is checked against: the weights that decide a model's images, and its class count. */
export interface ModelFingerprint {
  sha256: string;
  classifierSha256: string | null;
  classCount: number;
}

export function modelFingerprint(manifest: ModelManifest): ModelFingerprint {
  return { sha256: modelSha256(manifest), classifierSha256: classifierSha256(manifest), classCount: manifest.classes.count };
}
