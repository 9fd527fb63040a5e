import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openGallery, RecipeReadError, type Gallery } from '../../../electron/gallery';
import { decodePng, encodePng, imageFromTensor } from '../../../electron/png/image';
import { readRecipe, withRecipe } from '../../../electron/png/recipe-chunk';
import { RECIPE_PNG_KEYWORD, type Recipe } from '../../../common/contract/recipe';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testImage, testManifest, testPng, testRequest } from './gallery-fixtures';
import { chunkBytes, chunkClaimingOneGiB, concat, decompressionBomb, textData } from '../png/hostile-pngs';

const PYTHON = resolve('.venv/bin/python');

/** Reads a PNG with Pillow, an independent decoder: its text chunks and its pixels as RGB. */
function readWithPillow(path: string): { text: Record<string, string>; size: [number, number]; rgb: number[] } {
  const script = [
    'import json, sys',
    'from PIL import Image',
    'im = Image.open(sys.argv[1])',
    'im.load()',
    'print(json.dumps({"text": im.text, "size": im.size, "rgb": list(im.convert("RGB").tobytes())}))',
  ].join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

const recipe: Recipe = {
  format: 1,
  model: { id: 'tiny-test', sha256: 'b'.repeat(64) },
  classIndex: 7,
  className: 'Café ☕ sneaker',
  mode: 'unconditional+classifier',
  scale: 4.5,
  sampler: 'ddim',
  steps: 'ddim25',
  eta: 0.25,
  seed: 4294967295,
  clipDenoised: false,
  noiseAlgorithm: NOISE_ALGORITHM,
  provider: 'cpu',
  appVersion: APP_VERSION,
};

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => {
  folder = temporaryFolder();
});
afterEach(() => folder.remove());

describe('PNG images', () => {
  it('maps [-1, 1] to bytes as the reference sampler does: trunc(clamp((x + 1) · 127.5))', () => {
    const tensor = Float32Array.from([-1, -2, 0, 1, 2, 0.5]);
    const image = imageFromTensor(tensor, 1, 2, 3);
    expect(Array.from(image.data.filter((_, i) => i % 4 === 0))).toEqual([0, 0, 127, 255, 255, 191]);
    expect(() => imageFromTensor(tensor, 2, 1, 3)).toThrow(/expected 1 \(grey\) or 3 \(RGB\)/);
    expect(() => imageFromTensor(tensor, 3, 2, 3)).toThrow(/holds 6 values/);
  });

  it('encodes colour and grey images that Pillow decodes to the same pixels', () => {
    const colour = testImage(16, 5);
    const grey = imageFromTensor(Float32Array.from({ length: 64 }, (_, i) => i / 32 - 1), 1, 8, 8);
    for (const image of [colour, grey]) {
      const path = join(folder.dir, 'image.png');
      writeFileSync(path, encodePng(image));
      const pillow = readWithPillow(path);
      expect(pillow.size).toEqual([image.width, image.height]);
      expect(pillow.rgb).toEqual(Array.from(image.data.filter((_, i) => i % 4 !== 3)));
    }
  });
});

describe('recipe chunk', () => {
  it('writes a standard tEXt chunk that Pillow reads back, leaving the pixels alone', () => {
    const plain = testPng(16, 2);
    const tagged = withRecipe(withRecipe(plain, { ...recipe, seed: 1 }), recipe);
    const path = join(folder.dir, 'tagged.png');
    writeFileSync(path, tagged);
    const pillow = readWithPillow(path);
    expect(Object.keys(pillow.text)).toEqual([RECIPE_PNG_KEYWORD]);
    expect(JSON.parse(pillow.text[RECIPE_PNG_KEYWORD] as string)).toEqual(recipe);
    expect(decodePng(tagged).data).toEqual(decodePng(plain).data);
    expect(readRecipe(tagged)).toEqual(recipe);
  });

  it('explains what is wrong with a file it cannot read a recipe from', () => {
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70]);
    expect(() => readRecipe(jpeg)).toThrow(/not a PNG image/);
    expect(() => readRecipe(testPng(8))).toThrow(/has no Guided Diffusion Studio recipe/);

    const latin1Recipe = { ...recipe, className: 'Sneaker' };
    const withText = (text: string) => {
      const png = testPng(8);
      return concat(png.subarray(0, 33), chunkBytes('tEXt', textData(RECIPE_PNG_KEYWORD, text)), png.subarray(33));
    };
    expect(() => readRecipe(withText('{not json'))).toThrow(/not valid JSON/);
    expect(() => readRecipe(withText(JSON.stringify({ ...latin1Recipe, format: 99 })))).toThrow(/not one this version .*format/);
    expect(() => readRecipe(withText(JSON.stringify({ ...latin1Recipe, scale: -1 })))).toThrow(RecipeReadError);
    const truncated = testPng(8).slice(0, 40);
    expect(() => readRecipe(truncated)).toThrow(/^This PNG file is damaged: it ends after 40 bytes, before its closing IEND chunk/);
  });
});

describe('export and import through the gallery', () => {
  let gallery: Gallery;
  const CLASSIFIER_SHA = 'c'.repeat(64);
  beforeEach(() => {
    gallery = openGallery(join(folder.dir, 'gallery.sqlite'));
    const manifest = testManifest();
    gallery.models.register(
      {
        ...manifest,
        classifier: { file: 'classifier_grad.onnx', inputs: { x: 'x', t: 't', y: 'y' }, outputs: { grad: 'grad', logits: 'logits' } },
        files: { ...manifest.files, 'classifier_grad.onnx': CLASSIFIER_SHA },
      },
      'b'.repeat(64),
    );
  });
  afterEach(() => gallery.close());

  function storedSample(mode: Recipe['mode'] = 'conditional+classifier') {
    const request = testRequest({ mode, scale: 3.25, sampler: 'ddpm', steps: '10,15,20', eta: 0.5, clipDenoised: false, provider: 'auto' });
    const run = gallery.runs.start({ request, provider: 'cuda', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
    return { request, sample: gallery.samples.add(run.id, { seed: 3, png: testPng(32, 3) }) };
  }

  function snapshot() {
    return JSON.stringify([gallery.samples.list({ limit: 500 }), gallery.runs.list(), gallery.models.list(), gallery.presets.list()]);
  }

  it('exports the full recipe and imports it back as the run request of that one sample', () => {
    const { request, sample } = storedSample();
    const exported = gallery.exportPng(sample.id);
    expect(exported.fileName).toBe('tiny-test-sneaker-s3.25-seed3.png');
    expect(exported.recipe).toMatchObject({
      model: { id: 'tiny-test', sha256: 'b'.repeat(64), classifierSha256: CLASSIFIER_SHA }, classIndex: 7, className: 'Sneaker', mode: 'conditional+classifier', scale: 3.25,
      sampler: 'ddpm', steps: '10,15,20', eta: 0.5, seed: 3, clipDenoised: false, noiseAlgorithm: NOISE_ALGORITHM, provider: 'cuda', appVersion: APP_VERSION,
    });
    const path = join(folder.dir, exported.fileName);
    writeFileSync(path, exported.png);
    const imported = gallery.importPng(readFileSync(path), undefined, NOISE_ALGORITHM);
    expect(imported.warning).toBeNull();
    expect(imported.request).toEqual({ ...request, seeds: [3], batchSize: 1, provider: 'cuda' });
    expect(decodePng(exported.png).data).toEqual(decodePng(gallery.samples.image(sample.id) as Uint8Array).data);
  });

  it('warns when the installed model or noise generator differ from the recipe', () => {
    const { sample } = storedSample();
    const png = gallery.exportPng(sample.id).png;
    const other = gallery.importPng(png, () => ({ sha256: 'f'.repeat(64), classifierSha256: CLASSIFIER_SHA, classCount: 10 }), 'another-rng');
    expect(other.warning).toMatch(/other weights .* noise generator "philox4x32-10"/);
  });

  it('warns when only the guiding classifier differs, and only for a sample it guided', () => {
    const otherClassifier = () => ({ sha256: 'b'.repeat(64), classifierSha256: 'd'.repeat(64), classCount: 10 });
    const guided = gallery.exportPng(storedSample().sample.id).png;
    expect(gallery.importPng(guided, otherClassifier, NOISE_ALGORITHM).warning).toMatch(/another classifier than the one that guided this image/);

    const unguided = gallery.exportPng(storedSample('conditional').sample.id);
    expect(unguided.recipe.model).toEqual({ id: 'tiny-test', sha256: 'b'.repeat(64) });
    expect(gallery.runs.get(gallery.samples.get(storedSample('conditional').sample.id)?.runId ?? -1)?.classifierSha256).toBeNull();
    expect(gallery.importPng(unguided.png, otherClassifier, NOISE_ALGORITHM).warning).toBeNull();
  });

  it('rejects bad input with a clear sentence and changes nothing', () => {
    const { sample } = storedSample();
    gallery.samples.addTag(sample.id, 'kept');
    const before = snapshot();
    const unknownModel = withRecipe(testPng(8), { ...recipe, model: { id: 'imagenet-256', sha256: 'c'.repeat(64) } });
    expect(() => gallery.importPng(unknownModel)).toThrow(/model "imagenet-256", which is not installed here/);
    const classOutOfRange = withRecipe(testPng(8), { ...recipe, classIndex: 12 });
    expect(() => gallery.importPng(classOutOfRange)).toThrow(/has only 10 classes/);
    expect(() => gallery.importPng(testPng(8))).toThrow(/no Guided Diffusion Studio recipe/);
    expect(() => gallery.importPng(new TextEncoder().encode('GIF89a not a png'))).toThrow(/not a PNG image/);
    expect(() => gallery.importPng(chunkClaimingOneGiB())).toThrow(/damaged: a chunk claims 1073741824 bytes but the file has only 13 left/);
    expect(() => gallery.importPng(decompressionBomb())).toThrow(/declares 100000×100000 pixels/);
    expect(() => gallery.exportPng(sample.id + 100)).toThrow(/not in the gallery/);
    expect(snapshot()).toBe(before);
  });
});
