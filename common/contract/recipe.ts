import { z } from 'zod';
import { boundedText, requiredText, TEXT_LIMITS } from './bounds';
import { ClassIndex, GuidanceMode, ModelId, ProviderName, RunRequest, SamplerName, Seed, StepsText } from './run-request';

/** Keyword of the PNG text chunk that carries a sample's recipe. */
export const RECIPE_PNG_KEYWORD = 'gds-recipe';

/** Version of the recipe layout written into PNGs; readers accept this version and older ones. */
export const RECIPE_FORMAT = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/**
 * Everything needed to re-run one sample exactly: the model it came from (id and
 * fingerprint), every sampler setting, its own seed, the noise generator and the
 * execution provider that really ran it.
 */
export const Recipe = z.object({
  format: z.number().int().min(1).max(RECIPE_FORMAT),
  model: z.object({
    id: ModelId,
    sha256: Sha256,
    /** The guiding classifier's weights, in the modes that use one. */
    classifierSha256: Sha256.optional(),
  }),
  classIndex: ClassIndex,
  /** Human name of the class, for people reading the chunk; the index is what counts. */
  className: boundedText('a class name', TEXT_LIMITS.className).optional(),
  mode: GuidanceMode,
  scale: z.number().finite().nonnegative(),
  sampler: SamplerName,
  steps: StepsText,
  eta: z.number().finite().min(0).max(1),
  seed: Seed,
  clipDenoised: z.boolean(),
  /** Name of the seeded noise generator, so a later algorithm change is detectable. */
  noiseAlgorithm: requiredText('the noise generator name', TEXT_LIMITS.noiseAlgorithm),
  provider: ProviderName,
  appVersion: requiredText('the app version', TEXT_LIMITS.appVersion),
  createdAt: boundedText('the creation time', TEXT_LIMITS.timestamp).optional(),
});
export type Recipe = z.infer<typeof Recipe>;

/** The run request that re-creates exactly this one sample. */
export function recipeToRunRequest(recipe: Recipe): RunRequest {
  return RunRequest.parse({
    modelId: recipe.model.id,
    classIndex: recipe.classIndex,
    mode: recipe.mode,
    scale: recipe.scale,
    sampler: recipe.sampler,
    steps: recipe.steps,
    eta: recipe.eta,
    clipDenoised: recipe.clipDenoised,
    seeds: [recipe.seed],
    batchSize: 1,
    provider: recipe.provider,
  });
}

/** What a recipe records beyond the run request: the sample's own seed and how it was really made. */
export interface RecipeFacts {
  seed: number;
  modelSha256: string;
  /** The sha256 of the classifier that guided the sample, or null when none did. */
  classifierSha256: string | null;
  className?: string;
  noiseAlgorithm: string;
  /** The execution provider that really ran the job. */
  provider: RunRequest['provider'];
  appVersion: string;
  createdAt: Date;
}

/** The recipe of one sample of a run. */
export function recipeFromRequest(request: RunRequest, facts: RecipeFacts): Recipe {
  return Recipe.parse({
    format: RECIPE_FORMAT,
    model: {
      id: request.modelId,
      sha256: facts.modelSha256,
      ...(facts.classifierSha256 === null ? {} : { classifierSha256: facts.classifierSha256 }),
    },
    classIndex: request.classIndex,
    ...(facts.className === undefined ? {} : { className: facts.className }),
    mode: request.mode,
    scale: request.scale,
    sampler: request.sampler,
    steps: request.steps,
    eta: request.eta,
    seed: facts.seed,
    clipDenoised: request.clipDenoised,
    noiseAlgorithm: facts.noiseAlgorithm,
    provider: facts.provider,
    appVersion: facts.appVersion,
    createdAt: facts.createdAt.toISOString(),
  });
}

function fileNamePart(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '') || 'class';
}

/** A file name that says what the image is: model, class, scale and seed. */
export function recipeFileName(recipe: Recipe): string {
  const className = recipe.className ?? `class-${recipe.classIndex}`;
  return `${fileNamePart(recipe.model.id)}-${fileNamePart(className)}-s${recipe.scale}-seed${recipe.seed}.png`;
}
