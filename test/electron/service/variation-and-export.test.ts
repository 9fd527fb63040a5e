/** Variation seeds and upscaled export through the studio on a real gallery file and the real linear ONNX test model. */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import { readRecipe } from '../../../electron/png/recipe-chunk';
import { invokeOperation } from '../../../electron/service/invoke';
import { request, samplesOf, studioForThisFile } from './studio-fixture';

const studio = studioForThisFile();

async function draw(overrides: Parameters<typeof request>[0]): Promise<SampleRecord[]> {
  const { jobId } = await studio.service.startRun({ request: request(overrides), recordTrajectory: false });
  const events = await studio.finished(jobId);
  expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'completed' });
  return samplesOf(events).sort((a, b) => a.seed - b.seed);
}

async function pixelsOf(sampleId: number): Promise<Buffer> {
  const png = await studio.service.readImage({ kind: 'sample', sampleId });
  return PNG.sync.read(Buffer.from(png!)).data;
}

/** DDPM draws fresh noise every step, so the step noise's variation shows too. */
const ddpm = { sampler: 'ddpm', steps: '10', eta: 0 } as const;

describe('variation seeds', () => {
  it('gives exactly the seed\'s image at strength 0 and exactly the subseed\'s at strength 1, under DDIM and DDPM', async () => {
    for (const sampler of [{}, ddpm]) {
      const plain = await draw({ ...sampler, seeds: [5, 9] });
      const atZero = await draw({ ...sampler, seeds: [5], subseed: 9, subseedStrength: 0 });
      const atOne = await draw({ ...sampler, seeds: [5], subseed: 9, subseedStrength: 1 });
      const between = await draw({ ...sampler, seeds: [5], subseed: 9, subseedStrength: 0.5 });
      const [seedFive, seedNine] = await Promise.all(plain.map((sample) => pixelsOf(sample.id)));
      expect(await pixelsOf(atZero[0]!.id)).toEqual(seedFive);
      expect(await pixelsOf(atOne[0]!.id)).toEqual(seedNine);
      const half = await pixelsOf(between[0]!.id);
      expect(half).not.toEqual(seedFive);
      expect(half).not.toEqual(seedNine);
    }
  });

  it('gives each sample of a varied run the same image alone or in a batch', async () => {
    const variation = { subseed: 40, subseedStrength: 0.3 };
    const batch = await draw({ seeds: [1, 2, 3], batchSize: 3, ...variation });
    const alone = await draw({ seeds: [2], batchSize: 1, ...variation });
    expect(await pixelsOf(alone[0]!.id)).toEqual(await pixelsOf(batch[1]!.id));
  });

  it('writes the variation into the recipe, and the recipe re-runs to the same pixels', async () => {
    const [varied] = await draw({ ...ddpm, seeds: [21], subseed: 22, subseedStrength: 0.35 });
    const exported = await studio.service.exportPng({ sampleId: varied!.id, upscale: 1 });
    const recipe = readRecipe(Buffer.from(exported.png, 'base64'));
    expect(recipe).toMatchObject({ format: 2, seed: 21, subseed: 22, subseedStrength: 0.35 });
    const restored = await studio.service.readRecipe({ png: exported.png });
    expect(restored.request).toMatchObject({ seeds: [21], subseed: 22, subseedStrength: 0.35 });
    const [again] = await draw(restored.request);
    expect(await pixelsOf(again!.id)).toEqual(await pixelsOf(varied!.id));
  });

  it('keeps recipe format 1, with no variation fields, for a sample without a variation', async () => {
    const [plain] = await draw({ seeds: [31] });
    const recipe = readRecipe(Buffer.from((await studio.service.exportPng({ sampleId: plain!.id, upscale: 1 })).png, 'base64'));
    expect(recipe.format).toBe(1);
    expect(recipe).not.toHaveProperty('subseed');
    expect(recipe).not.toHaveProperty('subseedStrength');
  });

  it('refuses a strength without a subseed, and a strength outside 0 to 1, with a sentence, before queueing', async () => {
    await expect(studio.service.startRun({ request: request({ subseedStrength: 0.5 }), recordTrajectory: false })).rejects.toThrow(
      /needs a variation seed \(subseed\).*set one, or set the strength to 0/,
    );
    await expect(invokeOperation(studio.service, 'run:start', { request: { ...request(), subseed: 3, subseedStrength: 1.5 } })).rejects.toThrow(/variation strength is at most 1/);
    await expect(invokeOperation(studio.service, 'run:start', { request: { ...request(), subseed: 3, subseedStrength: -0.1 } })).rejects.toThrow(/variation strength must be at least 0/);
    await expect(invokeOperation(studio.service, 'run:start', { request: { ...request(), subseed: -1, subseedStrength: 0.5 } })).rejects.toThrow(/subseed/);
    expect((await studio.service.listQueue()).entries.filter((entry) => entry.status === 'queued')).toEqual([]);
  });
});

describe('upscaled export', () => {
  it('enlarges the sample ×4 and ×8 by nearest neighbour, each pixel a crisp block, with the same recipe', async () => {
    const [sample] = await draw({ seeds: [51] });
    const original = PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'sample', sampleId: sample!.id }))!));
    const plain = await studio.service.exportPng({ sampleId: sample!.id, upscale: 1 });
    for (const factor of [4, 8] as const) {
      const exported = await studio.service.exportPng({ sampleId: sample!.id, upscale: factor });
      expect(exported.fileName).toBe(plain.fileName.replace(/\.png$/, `-x${factor}.png`));
      const bytes = Buffer.from(exported.png, 'base64');
      const big = PNG.sync.read(bytes);
      expect([big.width, big.height]).toEqual([original.width * factor, original.height * factor]);
      for (let y = 0; y < big.height; y++) {
        for (let x = 0; x < big.width; x++) {
          const source = (Math.floor(y / factor) * original.width + Math.floor(x / factor)) * 4;
          const target = (y * big.width + x) * 4;
          expect([...big.data.subarray(target, target + 4)]).toEqual([...original.data.subarray(source, source + 4)]);
        }
      }
      expect(readRecipe(bytes)).toEqual(readRecipe(Buffer.from(plain.png, 'base64')));
    }
  });

  it('re-runs an upscaled file to the 1:1 sample', async () => {
    const [sample] = await draw({ seeds: [52] });
    const exported = await studio.service.exportPng({ sampleId: sample!.id, upscale: 8 });
    const restored = await studio.service.readRecipe({ png: exported.png });
    const [again] = await draw(restored.request);
    expect(await pixelsOf(again!.id)).toEqual(await pixelsOf(sample!.id));
  });

  it('refuses any other factor with a sentence that lists the sizes offered', async () => {
    const [sample] = (await studio.service.listSamples({ limit: 1 })).items;
    for (const upscale of [2, 0, 16, '4']) {
      await expect(invokeOperation(studio.service, 'gallery:export', { sampleId: sample!.id, upscale })).rejects.toThrow(/export size must be ×1, ×4, ×8/);
    }
  });
});
