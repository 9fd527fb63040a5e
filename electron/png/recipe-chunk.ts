import extractChunks from 'png-chunks-extract';
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { RECIPE_PNG_KEYWORD, Recipe } from '../../common/contract/recipe';
import { hasPngSignature } from './image';

/** A PNG that cannot give a recipe; the message tells the user what was wrong. */
export class RecipeReadError extends Error {
  override name = 'RecipeReadError';
}

const NOT_A_PNG = 'This file is not a PNG image (its first bytes are not the PNG signature). Choose a .png file exported by the studio.';

function chunksOf(png: Uint8Array) {
  if (!hasPngSignature(png)) throw new RecipeReadError(NOT_A_PNG);
  try {
    return extractChunks(png);
  } catch (error) {
    throw new RecipeReadError(`This PNG file is damaged and cannot be read (${(error as Error).message}).`);
  }
}

function isRecipeChunk(chunk: { name: string; data: Uint8Array }): boolean {
  return chunk.name === 'tEXt' && pngText.decode(chunk.data).keyword === RECIPE_PNG_KEYWORD;
}

/**
 * tEXt holds Latin-1 only; characters beyond it are written as JSON \u escapes so the
 * text stays valid JSON that parses back to the same strings.
 */
function latin1Json(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0100-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Returns a copy of `png` carrying `recipe` in its text chunk (any earlier recipe is replaced); pixels are untouched. */
export function withRecipe(png: Uint8Array, recipe: Recipe): Uint8Array {
  const checked = Recipe.parse(recipe);
  const chunks = chunksOf(png).filter((chunk) => !isRecipeChunk(chunk));
  const recipeChunk = pngText.encode(RECIPE_PNG_KEYWORD, latin1Json(checked));
  // Text chunks may go anywhere between IHDR and IEND; right after IHDR lets readers stop early.
  chunks.splice(1, 0, recipeChunk);
  return encodeChunks(chunks);
}

/** Reads and validates the recipe chunk of a PNG written by the studio. */
export function readRecipe(png: Uint8Array): Recipe {
  const chunk = chunksOf(png).find(isRecipeChunk);
  if (chunk === undefined) {
    throw new RecipeReadError(
      `This PNG has no Guided Diffusion Studio recipe (no "${RECIPE_PNG_KEYWORD}" text chunk). Only images exported by the studio or its command line can be re-run.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(pngText.decode(chunk.data).text);
  } catch {
    throw new RecipeReadError(`The recipe in this PNG is not valid JSON; the file was probably edited or damaged.`);
  }
  const parsed = Recipe.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'recipe'}: ${issue.message}`).join('; ');
    throw new RecipeReadError(`The recipe in this PNG is not one this version of the studio understands (${problems}).`);
  }
  return parsed.data;
}
