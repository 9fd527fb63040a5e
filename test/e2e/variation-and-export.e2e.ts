/**
 * Variation seeds and upscaled export as a user meets them: `serve` on a fresh data folder, real
 * Chromium, the small linear model. A variation at strength 1 draws exactly the variation seed's
 * image; the detail shows the variation; "Vary this" starts a run around a sample; Export ×8 gives
 * a crisp enlargement that carries the sample's recipe.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecipe } from '../../electron/png/recipe-chunk';
import { screenshot } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');

let session: StudioSession;
let page: Page;

async function galleryIds(): Promise<number[]> {
  return page.locator('[data-testid=gallery-item]').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-sample-id'))));
}

async function pngOf(sampleId: number): Promise<Buffer> {
  const response = await fetch(`${session.serve.origin}/images/sample/${sampleId}.png?token=${session.serve.token}`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

const pixelsOf = async (sampleId: number): Promise<Buffer> => PNG.sync.read(await pngOf(sampleId)).data;

/** Generates from the Create tab and waits until the gallery holds `expected` samples; returns the new ids (the highest ones). */
async function generateInto(expected: number, count = 1): Promise<number[]> {
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('button', { name: /^Generate/ }).click();
  await page.getByRole('button', { name: 'Gallery', exact: true }).click();
  await expect.poll(async () => (await galleryIds()).length, { timeout: 120_000 }).toBe(expected);
  return (await galleryIds()).sort((a, b) => a - b).slice(-count);
}

async function openDetail(sampleId: number): Promise<void> {
  await page.getByRole('button', { name: 'Gallery', exact: true }).click();
  await page.locator(`[data-testid=gallery-item][data-sample-id="${sampleId}"]`).click();
  await page.locator('[data-testid=sample-detail]').waitFor();
}

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-variation-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('variation seeds and upscaled export in Chromium against serve', () => {
  let subseedSample: number;

  it('draws exactly the variation seed\'s image at strength 1, and shows the variation in the details', async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField(page, 'Steps', '10');
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await setField(page, 'Base seed', '900');
    await setField(page, 'Images', '1');
    await setField(page, 'Batch size', '1');
    [subseedSample] = (await generateInto(1)) as [number];

    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await setField(page, 'Base seed', '5');
    await setField(page, 'Variation seed', '900');
    await setField(page, 'Variation strength', '1');
    const [atOne] = await generateInto(2);
    expect(atOne).not.toBe(subseedSample);
    expect((await pixelsOf(atOne!)).equals(await pixelsOf(subseedSample!))).toBe(true);

    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await setField(page, 'Variation strength', '0.5');
    const [half] = await generateInto(3);
    expect((await pixelsOf(half!)).equals(await pixelsOf(subseedSample!))).toBe(false);
    await openDetail(half!);
    await expect.poll(() => page.locator('[data-testid=detail-settings]').textContent()).toMatch(/Variation\s*seed 900 at strength 0\.5/);
    await screenshot(page, 'variation-01-detail');
  });

  it('says what is wrong with a strength outside 0 to 1 and waits to generate', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await setField(page, 'Variation strength', '1.5');
    await expect.poll(() => page.locator('[data-testid=field-problem]').allTextContents()).toContainEqual(expect.stringMatching(/variation strength must be from 0 .* to 1 .*1\.50? is out of range/));
    expect(await page.getByRole('button', { name: /^Generate/ }).isDisabled()).toBe(true);
    await setField(page, 'Variation strength', '0');
    expect(await page.getByRole('button', { name: /^Generate/ }).isEnabled()).toBe(true);
  });

  it('starts a run of variations around a sample with "Vary this"', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await setField(page, 'Images', '3');
    await openDetail(subseedSample);
    const before = new Set(await galleryIds());
    expect(before.size).toBe(3);
    await page.getByLabel('Variation amount').selectOption('0.15');
    await page.getByRole('button', { name: 'Vary this' }).click();
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(async () => (await galleryIds()).length, { timeout: 120_000 }).toBe(before.size + 3);
    const varied = (await galleryIds()).filter((id) => !before.has(id));
    const original = await pixelsOf(subseedSample);
    for (const id of varied) {
      expect((await pixelsOf(id)).equals(original)).toBe(false);
      await openDetail(id);
      await expect.poll(() => page.locator('[data-testid=detail-settings]').textContent()).toMatch(/Variation\s*seed 900 at strength 0\.85/);
    }
    await screenshot(page, 'variation-02-vary-this');
  });

  it('exports ×8 by nearest neighbour with the sample\'s recipe, beside the 1:1 PNG', async () => {
    await openDetail(subseedSample);
    const [plain] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
    await page.getByLabel('Export size').selectOption('8');
    const [big] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
    expect(big.suggestedFilename()).toBe(plain.suggestedFilename().replace(/\.png$/, '-x8.png'));
    const plainBytes = readFileSync((await plain.path())!);
    const bigBytes = readFileSync((await big.path())!);
    const small = PNG.sync.read(plainBytes);
    const large = PNG.sync.read(bigBytes);
    expect([large.width, large.height]).toEqual([small.width * 8, small.height * 8]);
    for (let y = 0; y < large.height; y++) {
      for (let x = 0; x < large.width; x++) {
        const source = (Math.floor(y / 8) * small.width + Math.floor(x / 8)) * 4;
        const target = (y * large.width + x) * 4;
        expect(large.data.readUInt32BE(target)).toBe(small.data.readUInt32BE(source));
      }
    }
    expect(readRecipe(bigBytes)).toEqual(readRecipe(plainBytes));
    expect(readRecipe(bigBytes)).toMatchObject({ seed: 900, sampler: 'ddpm', steps: '10' });
    expect(session.problems).toEqual([]);
  });
});
