/**
 * Forks and A/B comparisons as a user meets them: `serve` on a fresh data folder, real Chromium,
 * the small linear model. From the trajectory viewer, "Fork from this step" with another class
 * opens the compare view on parent and fork side by side; from a sample's details, "Compare…"
 * with another scale draws B and shows A, B and their amplified difference with its legend.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-fork-' });
  ({ page } = session);
  await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
  await setField(page, 'Base seed', '31');
  await setField(page, 'Images', '1');
  await page.getByLabel('Record trajectories').check();
  await page.getByRole('button', { name: /^Generate/ }).click();
  await page.getByRole('button', { name: 'Gallery', exact: true }).click();
  await page.locator('[data-testid=gallery-item]').first().waitFor({ timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await session?.close();
});

/** Opens the details of the gallery's oldest sample, the one the file drew first. */
async function openFirstSample(): Promise<void> {
  await page.getByRole('button', { name: 'Gallery', exact: true }).click();
  await page.locator('[data-testid=gallery-item]').last().click();
  await page.locator('[data-testid=sample-detail]').waitFor();
}

describe('forks and A/B comparisons in Chromium against serve', () => {
  it('forks from a step of the trajectory viewer and shows parent and fork side by side', async () => {
    await openFirstSample();
    await page.getByRole('button', { name: 'Trajectory' }).click();
    const viewer = page.locator('[data-testid=trajectory]');
    await expect.poll(() => viewer.textContent()).toContain('step 10 / 10');
    await page.getByLabel('Trajectory step').fill('3');
    await expect.poll(() => viewer.textContent()).toContain('step 4 / 10');
    await page.getByTestId('fork-open').click();
    await expect.poll(() => page.getByTestId('fork-form').textContent()).toContain('From step 4 on');
    await page.getByTestId('fork-class').selectOption({ label: 'cross' });
    await page.getByTestId('fork-submit').click();

    const compare = page.getByTestId('compare-view');
    await expect.poll(() => compare.textContent(), { timeout: 120_000 }).toContain('fork from step 4');
    await expect.poll(() => page.getByTestId('compare-b').textContent()).toContain('from step 4: cross');
    expect(await page.locator('[data-testid=trajectory]').count()).toBe(0);
    // One slider moves both trajectories; before the switch, parent and fork are at the same t.
    await page.getByTestId('compare-step').fill('2');
    await expect.poll(() => page.getByTestId('compare-step-readout').textContent()).toMatch(/^t = \d+ · A step 3, B step 3 · switch at step 4$/);
    await expect(page.getByTestId('compare-step-a').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('compare-step-b').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('compare-curves').isVisible()).resolves.toBe(true);
    await screenshot(page, 'fork-and-compare-01-fork');

    // The fork's details lead back to the pair.
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await page.locator('[data-testid=gallery-item]').first().click();
    await page.getByTestId('show-with-parent').click();
    await expect.poll(() => compare.textContent()).toContain('fork from step 4');
  });

  it('draws B with another scale and shows A, B and their amplified difference with its legend', async () => {
    await openFirstSample();
    await page.getByTestId('compare-open').click();
    await page.getByTestId('compare-setting').selectOption({ label: 'guidance scale' });
    await page.getByTestId('compare-value').fill('9');
    await page.getByTestId('compare-submit').click();

    const compare = page.getByTestId('compare-view');
    await expect.poll(() => compare.textContent(), { timeout: 120_000 }).toContain('guidance scale changed');
    await expect.poll(() => page.getByTestId('compare-b').textContent()).toContain('scale 9');
    const legend = page.getByTestId('difference-legend');
    await expect.poll(() => legend.textContent()).toMatch(/Largest difference \d+ of 255 levels, drawn white \(×\d+\); [\d.]+ % of pixels differ\./);
    // The difference canvas holds the image's own pixels, not an empty canvas.
    const drawn = await page.getByTestId('compare-difference').locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let brightest = 0;
      for (let i = 0; i < data.length; i += 4) brightest = Math.max(brightest, data[i]!);
      return { width: canvas.width, brightest };
    });
    expect(drawn.width).toBe(8);
    expect(drawn.brightest).toBeGreaterThan(200);
    await screenshot(page, 'fork-and-compare-02-ab');
    expect(session.problems).toEqual([]);
  });
});
