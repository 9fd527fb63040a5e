/**
 * A guidance-schedule × classifier-free-weight sweep on the built-in model, in Chromium through
 * `serve`: the axes are typed in the --schedule form and as numbers, the grid is labelled
 * "schedule interval 200–800" and "w = 3", every cell is a run stored with its own schedule and w
 * (the sample's details show both, the gallery filters on w), the saved grid carries the axes, and a sweep whose mode
 * ignores w is refused on the page, with the cell named, before anything is queued.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordedRunRequest } from '../../common/contract/run-request';
import { readSweepRecipe } from '../../electron/png/sweep-chunk';
import { screenshot } from './browser';
import { builtInModelFolder } from './serve-process';
import { openStudioSession, setField, type StudioSession } from './studio-session';

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession({ models: builtInModelFolder(), prefix: 'gds-e2e-guidance-sweep-', provider: /CPU|CUDA|WEBGPU|DML|COREML/ });
  ({ page } = session);
  await page.getByLabel('Record trajectories').uncheck();
}, 300_000);

afterAll(async () => {
  await session?.close();
});

function storedRequests(): ReturnType<typeof RecordedRunRequest.parse>[] {
  const gallery = new Database(path.join(session.dataDir, 'gallery.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = gallery.prepare('SELECT request FROM runs ORDER BY id').all() as { request: string }[];
    return rows.map((row) => RecordedRunRequest.parse(JSON.parse(row.request)));
  } finally {
    gallery.close();
  }
}

describe('a schedule × w sweep on the built-in model in Chromium against serve', () => {
  it('fills a grid labelled by schedule and w, each cell a run stored with its own schedule and w', async () => {
    await page.getByLabel('Mode', { exact: true }).selectOption('classifier-free+classifier');
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField(page, 'Steps', '10');
    await setField(page, 'Images', '1');
    await page.getByRole('button', { name: 'Scale sweep' }).click();
    await page.getByLabel('Rows', { exact: true }).selectOption('schedule');
    await setField(page, 'Schedules', 'constant interval:200-800');
    await page.getByLabel('Columns', { exact: true }).selectOption('cfgScale');
    await setField(page, 'Classifier-free weights w', '1, 3');
    await page.getByRole('button', { name: 'Run sweep' }).click();
    await page.locator('[data-testid=sweep-progress]', { hasText: '4/4 · completed' }).waitFor({ timeout: 240_000 });

    expect(await page.locator('[data-testid=sweep-row-label]').allTextContents()).toEqual(['schedule constant', 'schedule interval 200–800']);
    expect(await page.locator('[data-testid=sweep-column-label]').allTextContents()).toEqual(['w = 1', 'w = 3']);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=sweep-grid] img')].every((img) => img.complete && img.naturalWidth > 0));
    await screenshot(page, 'guidance-sweep-01-grid');

    const cells = storedRequests().slice(-4);
    expect(cells.map((request) => [request.mode, request.guidanceSchedule, request.cfgScale])).toEqual([
      ['classifier-free+classifier', { kind: 'constant' }, 1],
      ['classifier-free+classifier', { kind: 'constant' }, 3],
      ['classifier-free+classifier', { kind: 'interval', tLo: 200, tHi: 800 }, 1],
      ['classifier-free+classifier', { kind: 'interval', tLo: 200, tHi: 800 }, 3],
    ]);
  });

  it('saves the grid with both axes in its recipe, and shows the cell\'s w and schedule in its details', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save grid PNG' }).click()]);
    expect(download.suggestedFilename()).toBe('fashion-mnist-sweep-cfgScale-x-schedule.png');
    const recipe = readSweepRecipe(readFileSync((await download.path())!));
    expect(recipe.sweep.x).toEqual({ setting: 'cfgScale', values: [1, 3] });
    expect(recipe.sweep.y).toEqual({ setting: 'schedule', values: [{ kind: 'constant' }, { kind: 'interval', tLo: 200, tHi: 800 }] });

    await page.locator('[data-testid=sweep-cell]').nth(3).click();
    const details = page.locator('[data-testid=detail-settings]');
    await details.waitFor({ timeout: 30_000 });
    const rows = await details.locator('dt').allTextContents();
    const values = await details.locator('dd').allTextContents();
    const shown = Object.fromEntries(rows.map((label, index) => [label, values[index]]));
    expect(shown).toMatchObject({ Mode: 'classifier-free+classifier', 'Classifier-free w': '3', 'Scale over t': 'interval 200–800' });
    await screenshot(page, 'guidance-sweep-02-detail');
  });

  it('filters the gallery by w: a lower bound of 2 keeps the two w = 3 cells', async () => {
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent()).toBe('4 images');
    await setField(page, 'Minimum classifier-free weight', '2');
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent()).toBe('2 of 4 images');
    await setField(page, 'Maximum classifier-free weight', '2.5');
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent()).toBe('0 of 4 images');
    await setField(page, 'Minimum classifier-free weight', '');
    await setField(page, 'Maximum classifier-free weight', '');
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent()).toBe('4 images');
  });

  it('says, as the mode is changed, that a w sweep in a mode that does not read w names the cell, and will not run it', async () => {
    const runsBefore = storedRequests().length;
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByLabel('Mode', { exact: true }).selectOption('conditional+classifier');
    await page.getByRole('button', { name: 'Scale sweep' }).click();
    await expect
      .poll(() => page.locator('[data-testid=sweep-problem]').textContent())
      .toBe('In the cell at row "schedule constant", column "w = 1" of the sweep, the mode "conditional+classifier" does not read the classifier-free weight w. Sweep w in the mode "classifier-free" or "classifier-free+classifier".');
    expect(await page.getByRole('button', { name: 'Run sweep' }).isDisabled()).toBe(true);
    expect(storedRequests()).toHaveLength(runsBefore);
    expect(session.problems).toEqual([]);
  });
});
