import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { galleryCommand } from '../../../electron/cli/commands/gallery';
import { galleryFile, openGallery } from '../../../electron/gallery';
import { readRecipe } from '../../../electron/png/recipe-chunk';
import { modelSha256 } from '../../../common/models/model-identity';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
let dataDir: string;
let modelsDir: string;
let sampleIds: number[];

beforeEach(() => {
  folder = temporaryFolder();
  dataDir = join(folder.dir, 'data');
  modelsDir = join(folder.dir, 'models');
  mkdirSync(join(modelsDir, 'tiny-test'), { recursive: true });
  writeFileSync(join(modelsDir, 'tiny-test', 'manifest.json'), JSON.stringify(testManifest()));
  const gallery = openGallery(galleryFile(dataDir));
  gallery.models.register(testManifest(), modelSha256(testManifest()));
  const run = gallery.runs.start({ request: testRequest({ scale: 6 }), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
  sampleIds = [1, 2, 3].map((seed) => gallery.samples.add(run.id, { seed, png: testPng(32, seed) }).id);
  gallery.samples.addTag(sampleIds[1] as number, 'best');
  gallery.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  folder.remove();
});

async function cli(...args: string[]): Promise<string> {
  let printed = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  });
  try {
    await galleryCommand().exitOverride().parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return printed;
}

describe('gallery command', () => {
  it('lists samples newest first and filters them', async () => {
    const lines = (await cli('list', '--data', dataDir)).trim().split('\n');
    expect(lines.map((line) => Number(line.trim().split(/\s+/)[0]))).toEqual([...sampleIds].reverse());
    expect(lines[1]).toMatch(/tiny-test {2}class 7 {2}scale 6 {2}ddim ddim25 {2}seed 2 {2}#best$/);
    const page = JSON.parse(await cli('list', '--data', dataDir, '--tag', 'best', '--json'));
    expect(page.items.map((item: { id: number }) => item.id)).toEqual([sampleIds[1]]);
    expect(await cli('list', '--data', dataDir, '--limit', '2')).toContain(`More: add --before ${sampleIds[1]}`);
    expect(await cli('list', '--data', dataDir, '--class', '3')).toBe('No samples match.\n');
  });

  it('exports PNGs with their recipe and imports one back as a run request', async () => {
    const out = join(folder.dir, 'exported');
    mkdirSync(out);
    await cli('export', String(sampleIds[0]), String(sampleIds[2]), '--data', dataDir, '--out', out);
    const files = readdirSync(out).sort();
    expect(files).toEqual(['tiny-test-sneaker-s6-seed1.png', 'tiny-test-sneaker-s6-seed3.png']);
    expect(readRecipe(readFileSync(join(out, files[0] as string)))).toMatchObject({ seed: 1, scale: 6, className: 'Sneaker' });

    const request = JSON.parse(await cli('import', join(out, files[1] as string), '--models', modelsDir));
    expect(request).toEqual({ ...testRequest({ scale: 6 }), seeds: [3], batchSize: 1 });
  });

  it('says what is wrong with a missing gallery, an unknown sample, a foreign PNG and an uninstalled model', async () => {
    await expect(cli('list', '--data', join(folder.dir, 'nowhere'))).rejects.toThrow(/There is no gallery in .*nowhere/);
    await expect(cli('export', '999', '--data', dataDir, '--out', folder.dir)).rejects.toThrow(/Sample 999 is not in the gallery/);
    const plain = join(folder.dir, 'plain.png');
    writeFileSync(plain, testPng(8));
    await expect(cli('import', plain, '--models', modelsDir)).rejects.toThrow(/no Guided Diffusion Studio recipe/);
    await cli('export', String(sampleIds[0]), '--data', dataDir, '--out', folder.dir);
    await expect(cli('import', join(folder.dir, 'tiny-test-sneaker-s6-seed1.png'), '--models', join(folder.dir, 'empty'))).rejects.toThrow(
      /model "tiny-test", which is not installed here/,
    );
    await expect(cli('import', join(folder.dir, 'missing.png'))).rejects.toThrow(/Cannot read .*missing.png/);
  });
});
