/**
 * Trajectory export as a user meets it: `serve` on a fresh data folder, real Chromium, the small
 * linear model. From the trajectory viewer, "Export .npy folder" downloads a zip in the command
 * line's layout and "Export animation" an animated PNG with one crisp frame per recorded step.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import UPNG from 'upng-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpyFloat32 } from '../../common/npy';
import { readRecipe } from '../../electron/png/recipe-chunk';
import { screenshot } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');
const stepCount = 12;

let session: StudioSession;
let page: Page;

async function downloaded(action: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), action()]);
  return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
}

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-trajectory-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('trajectory export in Chromium against serve', () => {
  it('exports the .npy folder as a zip and the animation as an APNG from the trajectory viewer', async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField(page, 'Steps', String(stepCount));
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await setField(page, 'Base seed', '77');
    await setField(page, 'Images', '1');
    await page.getByLabel('Record trajectories').check();
    await page.getByRole('button', { name: /^Generate/ }).click();
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    const tile = page.locator('[data-testid=gallery-item]').first();
    await tile.waitFor({ timeout: 120_000 });
    await tile.click();
    await page.getByRole('button', { name: 'Trajectory' }).click();
    const viewer = page.locator('[data-testid=trajectory]');
    await expect.poll(() => viewer.textContent()).toContain(`step ${stepCount} / ${stepCount}`);

    const zip = await downloaded(() => page.getByRole('button', { name: 'Export .npy folder' }).click());
    expect(zip.name).toMatch(/-seed77-trajectory\.zip$/);
    const files = unzipSync(zip.bytes);
    const folder = zip.name.replace(/\.zip$/, '');
    expect(decodeNpyFloat32(files[`${folder}/x_T.npy`]!).shape).toEqual([1, 1, 8, 8]);
    expect(decodeNpyFloat32(files[`${folder}/noise.npy`]!).shape).toEqual([stepCount, 1, 1, 8, 8]);
    expect(decodeNpyFloat32(files[`${folder}/xt.npy`]!).shape).toEqual([stepCount, 1, 1, 8, 8]);
    expect(JSON.parse(new TextDecoder().decode(files[`${folder}/run.json`]!))).toMatchObject({ seed: 77, sampler: 'ddpm', steps: String(stepCount) });

    await page.getByLabel('Animation image').selectOption('xt');
    const animation = await downloaded(() => page.getByRole('button', { name: 'Export animation' }).click());
    expect(animation.name).toMatch(/-seed77-xt-animation\.png$/);
    const decoded = UPNG.decode(new Uint8Array(animation.bytes).buffer);
    expect([decoded.width, decoded.height]).toEqual([256, 256]);
    const frames = UPNG.toRGBA8(decoded);
    expect(frames).toHaveLength(stepCount);
    // The first xₜ is nearly pure noise, the last nearly the sample: the frames differ.
    expect(Buffer.from(frames[0]!).equals(Buffer.from(frames.at(-1)!))).toBe(false);
    expect(readRecipe(animation.bytes)).toMatchObject({ seed: 77 });
    await screenshot(page, 'trajectory-export-01-viewer');
    expect(session.problems).toEqual([]);
  });
});
