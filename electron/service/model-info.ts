/** How a model folder looks to the page: names, allowed modes, defaults, provider in use. */
import type { ModelInfo } from '../../common/contract/studio-api';
import type { ModelManifest } from '../../common/models/manifest';
import { allowedModes } from '../../common/models/run-plan';

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
    noiseSchedule: manifest.diffusion.noise_schedule,
    defaults: {
      ...manifest.defaults,
      mode: modes.includes(manifest.defaults.mode) ? manifest.defaults.mode : modes[0]!,
    },
    hasEvaluator: manifest.evaluator !== null,
    activeProvider,
  };
}
