/** The sweep recipe's text chunk in a grid PNG, written and read as the sample recipe's is. */
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { SWEEP_RECIPE_PNG_KEYWORD, SweepRecipe } from '../../common/contract/sweep-grid';
import { pngChunks, PngStructureError, hasPngSignature, pngHeaderOf, type PngChunk } from './png-structure';
import { MAX_RECIPE_BYTES, RecipeReadError } from './recipe-chunk';
import { describeProblems } from '../../common/contract/bounds';

const KEYWORD_BYTES = new TextEncoder().encode(SWEEP_RECIPE_PNG_KEYWORD);

function isSweepChunk(chunk: PngChunk): boolean {
  return chunk.type === 'tEXt' && chunk.data.length > KEYWORD_BYTES.length && chunk.data[KEYWORD_BYTES.length] === 0 && KEYWORD_BYTES.every((byte, i) => chunk.data[i] === byte);
}

function checkedChunks(png: Uint8Array): PngChunk[] {
  if (!hasPngSignature(png)) throw new RecipeReadError('This file is not a PNG image (its first bytes are not the PNG signature). Choose a sweep grid PNG saved by the studio.');
  try {
    const chunks = [...pngChunks(png)];
    if (chunks[0] !== undefined) pngHeaderOf(chunks[0]);
    return chunks;
  } catch (error) {
    if (error instanceof PngStructureError) throw new RecipeReadError(error.message);
    throw error;
  }
}

/** A copy of `png` carrying `recipe` (any earlier sweep recipe replaced); pixels untouched. */
export function withSweepRecipe(png: Uint8Array, recipe: SweepRecipe): Uint8Array {
  const checked = SweepRecipe.parse(recipe);
  const chunks = checkedChunks(png).filter((chunk) => !isSweepChunk(chunk));
  const text = JSON.stringify(checked).replace(/[\u0100-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const chunk = pngText.encode(SWEEP_RECIPE_PNG_KEYWORD, text);
  chunks.splice(1, 0, { type: chunk.name, data: chunk.data });
  return encodeChunks(chunks.map((part) => ({ name: part.type, data: part.data })));
}

/** The sweep recipe of a grid PNG; a RecipeReadError with a sentence when there is none or it is damaged. */
export function readSweepRecipe(png: Uint8Array): SweepRecipe {
  const chunk = checkedChunks(png).find(isSweepChunk);
  if (chunk === undefined) {
    throw new RecipeReadError(`This PNG has no sweep recipe (no "${SWEEP_RECIPE_PNG_KEYWORD}" text chunk). Only grids saved by the studio's sweep view restore a sweep.`);
  }
  if (chunk.data.length > MAX_RECIPE_BYTES) throw new RecipeReadError(`The sweep recipe in this PNG is ${chunk.data.length} bytes long, more than the ${MAX_RECIPE_BYTES} a studio recipe may take.`);
  let json: unknown;
  try {
    json = JSON.parse(pngText.decode(chunk.data).text);
  } catch {
    throw new RecipeReadError('The sweep recipe in this PNG is not valid JSON; the file was probably edited or damaged.');
  }
  const parsed = SweepRecipe.safeParse(json);
  if (!parsed.success) {
    const problems = describeProblems(parsed.error);
    throw new RecipeReadError(`The sweep recipe in this PNG is not one this version of the studio understands (${problems}).`);
  }
  return parsed.data;
}
