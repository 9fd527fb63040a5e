import { type Recipe, recipeFileName, recipeFromRequest, recipeToRunRequest } from '../../common/contract/recipe';
import { quoteStart } from '../../common/contract/bounds';
import { variationProblem, type RunRequest } from '../../common/contract/run-request';
import { NOISE_ALGORITHM } from '../../common/diffusion/rng';
import type { ModelManifest } from '../../common/models/manifest';
import type { ModelFingerprint } from '../../common/models/model-identity';
import { planRun } from '../../common/models/run-plan';
import { decodePng, encodePng, upscaleNearest } from '../png/image';
import { RecipeReadError, readRecipe, withRecipe } from '../png/recipe-chunk';
import { GalleryError } from './gallery-error';
import type { ModelsRepository } from './models-repository';
import type { RunsRepository } from './runs-repository';
import type { SamplesRepository } from './samples-repository';

export interface ExportedSample {
  /** A file name that says what the image is: model, class, scale and seed. */
  fileName: string;
  /** The image with its full recipe in the text chunk. */
  png: Uint8Array;
  recipe: Recipe;
}

/**
 * What an import needs to know about a model the recipe names; with its manifest, the recipe's
 * settings (steps, mode) are checked against the model before the import is accepted.
 */
export type InstalledModel = ModelFingerprint & { manifest?: ModelManifest };

export type ModelLookup = (modelId: string) => InstalledModel | undefined;

export interface ImportedRecipe {
  recipe: Recipe;
  /** The run request that re-creates the image (one seed, batch of one). */
  request: RunRequest;
  /** Why a re-run may not give the same pixels here, or null when it should. */
  warning: string | null;
}

/** Builds the PNG a user saves: the stored image plus the recipe that re-creates it. */
export function exportSample(
  sampleId: number,
  repositories: { samples: SamplesRepository; runs: RunsRepository; models: ModelsRepository },
): ExportedSample {
  const sample = repositories.samples.get(sampleId);
  const image = repositories.samples.image(sampleId);
  if (sample === undefined || image === undefined) {
    throw new GalleryError(`Sample ${sampleId} is not in the gallery (it may have been deleted), so it cannot be exported.`);
  }
  const run = repositories.runs.get(sample.runId);
  if (run === undefined) throw new GalleryError(`Sample ${sampleId} refers to run ${sample.runId}, which is missing.`);
  // The name of the recipe's own classIndex: a run that switched class records its first class there.
  const className = repositories.models.get(sample.modelId)?.manifest.classes.names[run.request.classIndex];
  const recipe = recipeFromRequest(run.request, {
    seed: sample.seed,
    modelSha256: run.modelSha256,
    classifierSha256: run.classifierSha256,
    ...(className === undefined ? {} : { className }),
    noiseAlgorithm: run.noiseAlgorithm,
    provider: run.provider,
    appVersion: run.appVersion,
    createdAt: new Date(sample.createdAt),
  });
  return { fileName: recipeFileName(recipe), png: withRecipe(image, recipe), recipe };
}

/**
 * The exported sample enlarged `factor` times by nearest neighbour, with the same recipe, so the
 * big file re-runs to the 1:1 image; its name says the factor. Factor 1 returns it unchanged.
 */
export function upscaledExport(exported: ExportedSample, factor: number): ExportedSample {
  if (factor === 1) return exported;
  const png = withRecipe(encodePng(upscaleNearest(decodePng(exported.png), factor)), exported.recipe);
  return { ...exported, fileName: exported.fileName.replace(/\.png$/, `-x${factor}.png`), png };
}

/**
 * Reads a PNG's recipe and turns it into a run request for a model that is installed.
 * Throws a RecipeReadError with a sentence for the user when the file is not a PNG,
 * has no recipe, or names a model or class this studio does not have.
 */
export function importRecipe(png: Uint8Array, findModel: ModelLookup, currentNoiseAlgorithm: string = NOISE_ALGORITHM): ImportedRecipe {
  const recipe = readRecipe(png);
  const modelName = quoteStart(recipe.model.id);
  const model = findModel(recipe.model.id);
  if (model === undefined) {
    throw new RecipeReadError(
      `This image was made with model ${modelName}, which is not installed here. Install or convert that model, then import the image again.`,
    );
  }
  if (recipe.classIndex >= model.classCount) {
    throw new RecipeReadError(
      `The recipe asks for class ${recipe.classIndex}, but model ${modelName} has only ${model.classCount} classes (0–${model.classCount - 1}); the installed model is not the one that made this image.`,
    );
  }
  const switchedClass = recipe.switchAt?.classIndex;
  if (switchedClass !== undefined && switchedClass >= model.classCount) {
    throw new RecipeReadError(
      `The recipe switches to class ${switchedClass} at step ${recipe.switchAt?.step}, but model ${modelName} has only ${model.classCount} classes (0–${model.classCount - 1}); the installed model is not the one that made this image.`,
    );
  }
  const variationMistake = variationProblem(recipe);
  if (variationMistake !== null) throw new RecipeReadError(`The recipe in this PNG cannot be re-run: ${variationMistake}`);
  const request = recipeToRunRequest(recipe);
  if (model.manifest !== undefined) {
    try {
      planRun(model.manifest, request);
    } catch (error) {
      throw new RecipeReadError(`The recipe's settings cannot run on the installed ${modelName}: ${(error as Error).message}`);
    }
  }
  const warnings: string[] = [];
  if (model.sha256 !== recipe.model.sha256) {
    warnings.push(`The installed ${modelName} has other weights than the one that made this image, so a re-run will differ.`);
  } else if (recipe.model.classifierSha256 !== undefined && model.classifierSha256 !== recipe.model.classifierSha256) {
    warnings.push(`The installed ${modelName} has another classifier than the one that guided this image, so a re-run will differ.`);
  }
  if (currentNoiseAlgorithm !== recipe.noiseAlgorithm) {
    warnings.push(`The image was made with noise generator ${quoteStart(recipe.noiseAlgorithm)}; this studio draws noise with "${currentNoiseAlgorithm}", so the same seed gives a different image.`);
  }
  return { recipe, request, warning: warnings.length > 0 ? warnings.join(' ') : null };
}
