import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { RECIPE_PNG_KEYWORD, Recipe } from '../../common/contract/recipe';
import { hasPngSignature, pngChunks, pngHeaderOf, PngStructureError, type PngChunk } from './png-structure';
import { describeProblems } from '../../common/contract/bounds';

/** A PNG that cannot give a recipe; the message tells the user what was wrong. */
export class RecipeReadError extends Error {
  override name = 'RecipeReadError';
}

/** A recipe is a few hundred bytes of JSON; 64 KiB leaves room for any future field and refuses text meant to stall the reader. */
export const MAX_RECIPE_BYTES = 64 * 1024;

const NOT_A_PNG = 'This file is not a PNG image (its first bytes are not the PNG signature). Choose a .png file exported by the studio.';

const RECIPE_KEYWORD_BYTES = new TextEncoder().encode(RECIPE_PNG_KEYWORD);

/**
 * Compares only the keyword bytes, so a large text chunk of another kind is passed over
 * without decoding its text.
 */
function isRecipeChunk(chunk: PngChunk): boolean {
  if (chunk.type !== 'tEXt') return false;
  const length = RECIPE_KEYWORD_BYTES.length;
  return chunk.data.length > length && chunk.data[length] === 0 && RECIPE_KEYWORD_BYTES.every((byte, i) => chunk.data[i] === byte);
}

/** Every chunk of `png` up to IEND; a damaged or non-PNG file gives a RecipeReadError with the structure's sentence. */
function* checkedChunks(png: Uint8Array): Generator<PngChunk> {
  if (!hasPngSignature(png)) throw new RecipeReadError(NOT_A_PNG);
  try {
    let first = true;
    for (const chunk of pngChunks(png)) {
      if (first) pngHeaderOf(chunk);
      first = false;
      yield chunk;
    }
  } catch (error) {
    if (error instanceof PngStructureError) throw new RecipeReadError(error.message);
    throw error;
  }
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
  const chunks: PngChunk[] = [...checkedChunks(png)].filter((chunk) => !isRecipeChunk(chunk));
  const recipeChunk = pngText.encode(RECIPE_PNG_KEYWORD, latin1Json(checked));
  if (recipeChunk.data.length > MAX_RECIPE_BYTES) {
    throw new Error(`This recipe takes ${recipeChunk.data.length} bytes, more than the ${MAX_RECIPE_BYTES} a PNG recipe may hold, so no reader would accept it; shorten the model's class names.`);
  }
  // Text chunks may go anywhere between IHDR and IEND; right after IHDR lets readers stop early.
  chunks.splice(1, 0, { type: recipeChunk.name, data: recipeChunk.data });
  return encodeChunks(chunks.map((chunk) => ({ name: chunk.type, data: chunk.data })));
}

/**
 * The first recipe chunk. The whole file is walked even after it is found, so a file that
 * is damaged anywhere is refused rather than half trusted; the walk reads lengths and CRCs
 * only, so it stays cheap on any file.
 */
function recipeChunkOf(png: Uint8Array): PngChunk {
  let found: PngChunk | undefined;
  for (const chunk of checkedChunks(png)) {
    if (found === undefined && isRecipeChunk(chunk)) found = chunk;
  }
  if (found !== undefined) return found;
  throw new RecipeReadError(
    `This PNG has no Guided Diffusion Studio recipe (no "${RECIPE_PNG_KEYWORD}" text chunk). Only images exported by the studio or its command line can be re-run.`,
  );
}

/** Reads and validates the recipe chunk of a PNG written by the studio. */
export function readRecipe(png: Uint8Array): Recipe {
  const chunk = recipeChunkOf(png);
  if (chunk.data.length > MAX_RECIPE_BYTES) {
    throw new RecipeReadError(
      `The recipe in this PNG is ${chunk.data.length} bytes long, more than the ${MAX_RECIPE_BYTES} bytes (64 KiB) a studio recipe may take; the file was not written by the studio or was edited.`,
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
    const problems = describeProblems(parsed.error);
    throw new RecipeReadError(`The recipe in this PNG is not one this version of the studio understands (${problems}).`);
  }
  return parsed.data;
}
