/** How a model folder looks to the page: names, allowed modes, defaults, provider in use. */
import type { GuidanceMode } from '../../common/contract/run-request';
import type { ModelInfo } from '../../common/contract/studio-api';
import type { ModelManifest } from '../../common/models/manifest';

/** The guidance modes a model's graphs can run (the same rules the engine's run plan enforces). */
export function allowedModes(manifest: ModelManifest): GuidanceMode[] {
  const classConditional = manifest.unet.class_cond;
  const hasClassifier = manifest.classifier !== null;
  const modes: GuidanceMode[] = [];
  if (classConditional) modes.push('conditional');
  if (hasClassifier && (!classConditional || manifest.classes.null_class !== null)) modes.push('unconditional+classifier');
  if (hasClassifier && classConditional) modes.push('conditional+classifier');
  return modes;
}

export function modelInfoOf(manifest: ModelManifest, activeProvider: string | null): ModelInfo {
  const modes = allowedModes(manifest);
  if (modes.length === 0) {
    throw new Error(`"${manifest.name}" has an unconditional UNet and no classifier, so no class can be asked of it.`);
  }
  return {
    id: manifest.id,
    name: manifest.name,
    source: manifest.source,
    license: manifest.license,
    imageSize: manifest.image.size,
    channels: manifest.image.channels,
    classNames: manifest.classes.names,
    classSynonyms: manifest.classes.synonyms,
    modes,
    diffusionSteps: manifest.diffusion.steps,
    defaults: {
      ...manifest.defaults,
      mode: modes.includes(manifest.defaults.mode) ? manifest.defaults.mode : modes[0]!,
    },
    hasEvaluator: manifest.evaluator !== null,
    activeProvider,
  };
}
