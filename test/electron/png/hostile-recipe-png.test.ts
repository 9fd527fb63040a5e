import { describe, expect, it } from 'vitest';
import { RECIPE_PNG_KEYWORD, type Recipe } from '../../../common/contract/recipe';
import { decodePng } from '../../../electron/png/image';
import { pngChunks } from '../../../electron/png/png-structure';
import { MAX_RECIPE_BYTES, RecipeReadError, readRecipe, withRecipe } from '../../../electron/png/recipe-chunk';
import { APP_VERSION, NOISE_ALGORITHM, testPng } from '../gallery/gallery-fixtures';
import { chunkBytes, chunkClaimingOneGiB, concat, decompressionBomb, textData } from './hostile-pngs';
import { MIB, failureOf, rssGrowthDuring } from './memory-growth';

const recipe: Recipe = {
  format: 1,
  model: { id: 'tiny-test', sha256: 'b'.repeat(64) },
  classIndex: 7,
  className: 'Sneaker',
  mode: 'conditional+classifier',
  scale: 4,
  sampler: 'ddim',
  steps: 'ddim25',
  eta: 0,
  seed: 12,
  clipDenoised: true,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu',
  appVersion: APP_VERSION,
};

/** `png` with `chunk` inserted right after IHDR (33 bytes in: signature and IHDR). */
function withChunkAfterHeader(png: Uint8Array, chunk: Uint8Array): Uint8Array {
  return concat(png.subarray(0, 33), chunk, png.subarray(33));
}

function recipeFailure(png: Uint8Array) {
  const failure = failureOf(() => readRecipe(png));
  expect(failure.error).toBeInstanceOf(RecipeReadError);
  return failure;
}

describe('reading a recipe from a hostile PNG', () => {
  it('still round-trips the recipe of a normal exported image', () => {
    const exported = withRecipe(testPng(16, 4), recipe);
    expect(readRecipe(exported)).toEqual(recipe);
    expect([...pngChunks(exported)].map((chunk) => chunk.type)).toEqual(['IHDR', 'tEXt', 'IDAT', 'IEND']);
    expect(decodePng(exported).data).toEqual(decodePng(testPng(16, 4)).data);
  });

  it('refuses the 54-byte file whose chunk claims 1 GiB, without allocating it', () => {
    const { error, rssGrowth } = recipeFailure(chunkClaimingOneGiB());
    expect(error.message).toMatch(/^This PNG file is damaged: a chunk claims 1073741824 bytes but the file has only 13 left/);
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });

  it('passes over a 40 MB text chunk of another kind without decoding it, and finds the recipe after it', () => {
    const comment = chunkBytes('tEXt', textData('Comment', new Uint8Array(40_000_000).fill(0x41)));
    const png = withChunkAfterHeader(withRecipe(testPng(8), recipe), comment);
    let read: Recipe | undefined;
    expect(rssGrowthDuring(() => (read = readRecipe(png)))).toBeLessThan(50 * MIB);
    expect(read).toEqual(recipe);
    const { error, rssGrowth } = recipeFailure(withChunkAfterHeader(testPng(8), comment));
    expect(error.message).toMatch(/has no Guided Diffusion Studio recipe/);
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });

  it('refuses a 40 MB recipe chunk by its length, naming the limit', () => {
    const huge = chunkBytes('tEXt', textData(RECIPE_PNG_KEYWORD, new Uint8Array(40_000_000).fill(0x20)));
    const { error, rssGrowth } = recipeFailure(withChunkAfterHeader(testPng(8), huge));
    expect(error.message).toBe(
      `The recipe in this PNG is ${40_000_000 + RECIPE_PNG_KEYWORD.length + 1} bytes long, more than the 65536 bytes (64 KiB) a studio recipe may take; the file was not written by the studio or was edited.`,
    );
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });

  it('reads a recipe chunk of exactly 64 KiB and refuses one a byte longer', () => {
    const json = JSON.stringify(recipe);
    const padded = (total: number) => {
      const text = json + ' '.repeat(total - RECIPE_PNG_KEYWORD.length - 1 - json.length);
      return withChunkAfterHeader(testPng(8), chunkBytes('tEXt', textData(RECIPE_PNG_KEYWORD, text)));
    };
    expect(readRecipe(padded(MAX_RECIPE_BYTES))).toEqual(recipe);
    expect(() => readRecipe(padded(MAX_RECIPE_BYTES + 1))).toThrow(/is 65537 bytes long, more than the 65536 bytes \(64 KiB\)/);
  });

  it('refuses a truncated file with the damage it found', () => {
    const exported = withRecipe(testPng(16, 4), recipe);
    const cutInIdat = exported.subarray(0, exported.length - 40);
    expect(recipeFailure(cutInIdat).error.message).toMatch(/^This PNG file is damaged: a chunk claims \d+ bytes but the file has only \d+ left \(the IDAT chunk/);
    const cutInRecipe = exported.subarray(0, 60);
    expect(recipeFailure(cutInRecipe).error.message).toMatch(/^This PNG file is damaged: a chunk claims \d+ bytes but the file has only 19 left \(the tEXt chunk at byte 33/);
  });

  it('refuses a recipe whose bytes were changed after the checksum was written', () => {
    const exported = Uint8Array.from(withRecipe(testPng(8), recipe));
    const seedDigit = Buffer.from(exported).indexOf('"seed":12') + 8;
    exported[seedDigit] = 0x39; // "seed":19: still valid JSON and a valid recipe, so only the CRC tells
    expect(recipeFailure(exported).error.message).toBe(
      'This PNG file is damaged: the checksum (CRC) of its tEXt chunk at byte 33 does not match the chunk\'s bytes. Export or copy the image again.',
    );
  });

  it('refuses an image whose IHDR declares 100000×100000 pixels, even with a valid recipe', () => {
    const recipeChunk = chunkBytes('tEXt', textData(RECIPE_PNG_KEYWORD, JSON.stringify(recipe)));
    const bomb = withChunkAfterHeader(decompressionBomb(), recipeChunk);
    expect(() => withRecipe(decompressionBomb(), recipe)).toThrow(/declares 100000×100000 pixels/);
    const { error, rssGrowth } = recipeFailure(bomb);
    expect(error.message).toMatch(/^This PNG declares 100000×100000 pixels \(10000000000\), more than the 16777216 \(4096×4096\) the studio decodes/);
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });

  it('walks a file of a million empty chunks in constant memory', () => {
    const empty = chunkBytes('tIME', new Uint8Array(0));
    const many = new Uint8Array(empty.length * 1_000_000);
    for (let offset = 0; offset < many.length; offset += empty.length) many.set(empty, offset);
    const { error, rssGrowth } = recipeFailure(withChunkAfterHeader(testPng(8), many));
    expect(error.message).toMatch(/has no Guided Diffusion Studio recipe/);
    expect(rssGrowth).toBeLessThan(50 * MIB);
  });
});
