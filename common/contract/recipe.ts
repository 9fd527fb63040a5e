import { z } from 'zod';
import { boundedText, requiredText, TEXT_LIMITS } from './bounds';
import { ClassIndex, GuidanceMode, ModelId, ProviderName, RunRequest, SamplerName, Seed, StepsText, usesClassifierFree, variationOf } from './run-request';

/** Keyword of the PNG text chunk that carries a sample's recipe. */
export const RECIPE_PNG_KEYWORD = 'gds-recipe';

/**
 * Version of the recipe layout written into PNGs; readers accept this version and older ones.
 * 2 added the variation seed; a recipe without a variation is still written as 1, so studios
 * that predate variations go on reading it, while one with a variation is refused by them
 * rather than re-run without it.
 */
export const RECIPE_FORMAT = 4;
const FORMAT_WITHOUT_VARIATION = 1;
const FORMAT_WITH_VARIATION = 2;
/**
 * 3 added classifier-free guidance, guidance schedules and DPM-Solver++; a recipe that uses none
 * of them keeps its older number, and one that does is refused by older studios rather than
 * re-run without them.
 */
const FORMAT_WITH_GUIDANCE_LAB = 3;
/**
 * 4 added the switch part way (switchAt): a recipe with one is refused by older studios rather than
 * re-run with one set of settings throughout. Its provenance (forkOf, comparedWith) changes no pixel
 * and raises no format.
 */
const FORMAT_WITH_SWITCH = 4;

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
  /** The variation seed and strength (format 2); absent in older recipes, which had no variation. */
  subseed: RunRequest.shape.subseed,
  subseedStrength: RunRequest.shape.subseedStrength,
  /** w of classifier-free guidance (format 3), in the classifier-free modes. */
  cfgScale: RunRequest.shape.cfgScale,
  /** The guidance schedule (format 3); absent: constant. */
  guidanceSchedule: RunRequest.shape.guidanceSchedule,
  /** Settings that take over at a later step (format 4); absent: one set throughout. */
  switchAt: RunRequest.shape.switchAt,
  /** The sample and step this one was forked from, for people and the gallery; re-running needs only switchAt. */
  forkOf: RunRequest.shape.forkOf,
  /** The sample this one is run B of an A/B comparison with. */
  comparedWith: RunRequest.shape.comparedWith,
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
    ...variationFields(recipe),
    ...guidanceLabFields(recipe),
    ...linkFields(recipe),
  });
}

/** The switch and the provenance links, present only when set. */
function linkFields(settings: Pick<RunRequest, 'switchAt' | 'forkOf' | 'comparedWith'>): Pick<RunRequest, 'switchAt' | 'forkOf' | 'comparedWith'> {
  return {
    ...(settings.switchAt === undefined ? {} : { switchAt: settings.switchAt }),
    ...(settings.forkOf === undefined ? {} : { forkOf: settings.forkOf }),
    ...(settings.comparedWith === undefined ? {} : { comparedWith: settings.comparedWith }),
  };
}

/** The classifier-free weight and the schedule, present only when they change the run. */
function guidanceLabFields(settings: Pick<RunRequest, 'mode' | 'cfgScale' | 'guidanceSchedule'>): Pick<RunRequest, 'cfgScale' | 'guidanceSchedule'> {
  return {
    ...(usesClassifierFree(settings.mode) && settings.cfgScale !== undefined ? { cfgScale: settings.cfgScale } : {}),
    ...(settings.guidanceSchedule !== undefined && settings.guidanceSchedule.kind !== 'constant' ? { guidanceSchedule: settings.guidanceSchedule } : {}),
  };
}

function recipeFormat(request: RunRequest, variation: Pick<RunRequest, 'subseed'>): number {
  const lab = guidanceLabFields(request);
  if (request.switchAt !== undefined) return FORMAT_WITH_SWITCH;
  if (usesClassifierFree(request.mode) || request.sampler === 'dpmpp2m' || lab.guidanceSchedule !== undefined) return FORMAT_WITH_GUIDANCE_LAB;
  return variation.subseed === undefined ? FORMAT_WITHOUT_VARIATION : FORMAT_WITH_VARIATION;
}

/** The variation settings of a request or recipe, present only when they change the noise. */
function variationFields(settings: Pick<RunRequest, 'subseed' | 'subseedStrength'>): Pick<RunRequest, 'subseed' | 'subseedStrength'> {
  const variation = variationOf(settings);
  return variation === null ? {} : { subseed: variation.subseed, subseedStrength: variation.strength };
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
  const variation = variationFields(request);
  return Recipe.parse({
    format: recipeFormat(request, variation),
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
    ...variation,
    ...guidanceLabFields(request),
    ...linkFields(request),
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
