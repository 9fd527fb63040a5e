/** Picked samples exported as one zip: every PNG is the sample's own export with its recipe; bad picks get a sentence. */
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../common/contract/gallery';
import { readRecipe } from '../../../electron/png/recipe-chunk';
import { invokeOperation } from '../../../electron/service/invoke';
import { openStudio, removeFolder, request, type StudioFixture } from './studio-fixture';

let studio: StudioFixture;
let samples: SampleRecord[];

beforeAll(async () => {
  studio = openStudio();
  const { jobId } = await studio.service.startRun({ request: request({ seeds: [3, 4, 5] }), recordTrajectory: false });
  const events = await studio.finished(jobId);
  samples = events.flatMap((event) => (event.type === 'sample' ? [event.sample] : []));
});

afterAll(async () => {
  await studio.close();
  removeFolder(studio.dataDir);
});

describe('zip export of picked samples', () => {
  it('holds each picked sample\'s PNG as its own export gives it, recipe included', async () => {
    expect(samples).toHaveLength(3);
    const ids = samples.map((sample) => sample.id);
    const zip = (await invokeOperation(studio.service, 'gallery:export-zip', { sampleIds: ids })) as { fileName: string; mimeType: string; bytes: string };
    expect(zip.mimeType).toBe('application/zip');
    expect(zip.fileName).toBe('guided-diffusion-3-samples.zip');
    const files = unzipSync(Buffer.from(zip.bytes, 'base64'));
    expect(Object.keys(files)).toHaveLength(3);
    for (const id of ids) {
      const single = await studio.service.exportPng({ sampleId: id, upscale: 1 });
      const inZip = files[single.fileName];
      expect(inZip, single.fileName).toBeDefined();
      expect(Buffer.from(inZip!)).toEqual(Buffer.from(single.png, 'base64'));
      expect(readRecipe(inZip!).seed).toBe(samples.find((sample) => sample.id === id)!.seed);
    }
  });

  it('enlarges every file when asked, each keeping its recipe', async () => {
    const zip = await studio.service.exportSamplesZip({ sampleIds: [samples[0]!.id], upscale: 4 });
    const [name, png] = Object.entries(unzipSync(Buffer.from(zip.bytes, 'base64')))[0]!;
    expect(name).toMatch(/-x4\.png$/);
    const image = PNG.sync.read(Buffer.from(png));
    expect([image.width, image.height]).toEqual([32, 32]);
    expect(readRecipe(png).seed).toBe(samples[0]!.seed);
  });

  it('refuses an empty pick, too many samples and a deleted sample with a sentence', async () => {
    await expect(invokeOperation(studio.service, 'gallery:export-zip', { sampleIds: [] })).rejects.toThrow(/pick at least one sample to export/);
    await expect(invokeOperation(studio.service, 'gallery:export-zip', { sampleIds: Array.from({ length: 1025 }, (_, i) => i + 1) })).rejects.toThrow(
      /at most 1,024 samples go in one zip/,
    );
    await expect(invokeOperation(studio.service, 'gallery:export-zip', { sampleIds: [samples[0]!.id, 999_999] })).rejects.toThrow(/999999/);
  });
});
