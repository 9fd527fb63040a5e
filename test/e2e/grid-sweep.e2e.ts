/**
 * Two-axis sweeps as a user meets them: `serve` on a fresh data folder, real Chromium, the small
 * linear model. Scales against seeds fill a labelled grid as the cells finish; "Save grid PNG"
 * downloads one image with the whole sweep in its recipe chunk, and opening it restores the axes.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSweepRecipe } from '../../electron/png/sweep-chunk';
import { screenshot, screenshotDir } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');

let session: StudioSession;
let page: Page;
let gridFile: string;

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-grid-sweep-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('two-axis sweeps in Chromium against serve', () => {
  it('runs scales × seeds as one labelled grid, each cell its own run', async () => {
    await setField(page, 'Steps', 'ddim5');
    await page.getByRole('button', { name: 'Scale sweep' }).click();
    await page.getByLabel('Rows', { exact: true }).selectOption('scale');
    await setField(page, 'Scales', '0, 4');
    await page.getByLabel('Columns', { exact: true }).selectOption('seed');
    await setField(page, 'Seeds', '1 2 3');
    await page.getByRole('button', { name: 'Run sweep' }).click();
    await page.locator('[data-testid=sweep-progress]', { hasText: '6/6 · completed' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-testid=sweep-row-label]').allTextContents()).toEqual(['scale 0', 'scale 4']);
    expect(await page.locator('[data-testid=sweep-column-label]').allTextContents()).toEqual(['seed 1', 'seed 2', 'seed 3']);
    const titles = await page.locator('[data-testid=sweep-cell]').evaluateAll((cells) => cells.map((cell) => cell.getAttribute('title')));
    expect(titles).toEqual(['scale 0 · seed 1 · seed 1', 'scale 0 · seed 2 · seed 2', 'scale 0 · seed 3 · seed 3', 'scale 4 · seed 1 · seed 1', 'scale 4 · seed 2 · seed 2', 'scale 4 · seed 3 · seed 3']);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=sweep-grid] img')].every((img) => img.complete && img.naturalWidth > 0));
    await screenshot(page, 'grid-sweep-01-grid');
  });

  it('saves the grid as one PNG that carries the whole sweep', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save grid PNG' }).click()]);
    expect(download.suggestedFilename()).toBe('linear-8px-sweep-seed-x-scale.png');
    gridFile = (await download.path())!;
    mkdirSync(screenshotDir, { recursive: true });
    copyFileSync(gridFile, path.join(screenshotDir, 'grid-sweep-02-saved-grid.png'));
    const bytes = readFileSync(gridFile);
    const image = PNG.sync.read(bytes);
    // Two rows and three columns of tiles of at least 96 px, with room for the labels.
    expect(image.width).toBeGreaterThanOrEqual(3 * 96);
    expect(image.height).toBeGreaterThanOrEqual(2 * 96);
    const recipe = readSweepRecipe(bytes);
    expect(recipe).toMatchObject({ kind: 'sweep', format: 1, model: { id: 'linear-8px' } });
    expect(recipe.sweep.x).toEqual({ setting: 'seed', values: [1, 2, 3] });
    expect(recipe.sweep.y).toEqual({ setting: 'scale', values: [0, 4] });
    expect(recipe.sweep.request.steps).toBe('ddim5');
  });

  it('says what is wrong with an axis value and waits, then restores the axes from the grid PNG', async () => {
    await setField(page, 'Scales', '0, lots');
    await expect.poll(() => page.locator('[data-testid=sweep-problem]').textContent()).toMatch(/^Scales: /);
    expect(await page.getByRole('button', { name: 'Run sweep' }).isDisabled()).toBe(true);
    await page.getByLabel('Columns', { exact: true }).selectOption('none');
    await page.getByLabel('Open grid PNG').setInputFiles(gridFile);
    await expect.poll(() => page.getByLabel('Scales', { exact: true }).inputValue()).toBe('0, 4');
    expect(await page.getByLabel('Columns', { exact: true }).inputValue()).toBe('seed');
    expect(await page.getByLabel('Seeds', { exact: true }).inputValue()).toBe('1, 2, 3');
    expect(await page.getByRole('button', { name: 'Run sweep' }).isEnabled()).toBe(true);
    expect(session.problems).toEqual([]);
  });
});
