/**
 * The gallery and the presets as a user keeps order in them, in Chromium through `serve` with a
 * small model that has an evaluator: the count follows the filters, evaluation runs can be hidden,
 * notes are searchable, the grid sorts, the evaluation's Classes field takes names and synonyms, presets are
 * renamed and deleted, and a PNG's recipe is shown without being applied.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser';
import { openStudioSession, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'evaluation-models', 'evaluated-8px');
const ownImages = 3;
const evaluationSamples = 12;

let session: StudioSession;
let page: Page;

const count = () => page.locator('[data-testid=gallery-count]').textContent();
const tiles = () => page.locator('[data-testid=gallery-item]').count();

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-gallery-presets-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('gallery and presets in Chromium against serve', () => {
  it('runs an evaluation of classes given by name and synonym', async () => {
    await page.getByRole('button', { name: 'Evaluation', exact: true }).click();
    await page.getByLabel('Scales', { exact: true }).fill('2');
    await page.locator('#evaluation-classes').fill('Circle, box');
    await page.getByLabel('Samples per scale', { exact: true }).fill(String(evaluationSamples));
    expect(await page.locator('#evaluation-classes').getAttribute('class')).not.toContain('invalid');
    await page.locator('[data-testid=evaluation-start]').click();
    await page.locator('[data-testid=evaluation-status]', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    expect(await page.locator('.current p.muted').first().textContent()).toContain('over 2 classes');
    await page.locator('#evaluation-classes').fill('circle, zebra');
    expect(await page.locator('#evaluation-classes').getAttribute('class')).toContain('invalid');
  });

  it('counts what the filters show, hides evaluation runs, and finds notes', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByLabel('Images', { exact: true }).fill(String(ownImages));
    await page.getByRole('button', { name: /^Generate/ }).click();
    await page.locator('[data-testid=run-status]', { hasText: 'Done' }).waitFor({ timeout: 120_000 });

    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    const total = ownImages + evaluationSamples;
    await expect.poll(count, { timeout: 30_000 }).toBe(`${total} images`);
    await page.getByLabel('Hide evaluation runs').check();
    await expect.poll(count).toBe(`${ownImages} of ${total} images`);
    await expect.poll(tiles).toBe(ownImages);
    await screenshot(page, 'gallery-01-evaluations-hidden');

    await page.locator('[data-testid=gallery-item]').first().click();
    await page.getByLabel('Notes', { exact: true }).fill('keeper for the poster');
    await page.getByLabel('Notes', { exact: true }).blur();
    await page.getByRole('button', { name: 'Close details' }).click();
    const notesFilter = page.getByLabel('Filter by notes');
    await notesFilter.fill('POSTER');
    await notesFilter.dispatchEvent('change');
    await expect.poll(count).toBe(`1 of ${total} images`);
    await expect.poll(tiles).toBe(1);
    await notesFilter.fill('');
    await notesFilter.dispatchEvent('change');
    await page.getByLabel('Hide evaluation runs').uncheck();
    await expect.poll(count).toBe(`${total} images`);

    const shownIds = () => page.locator('[data-testid=gallery-item]').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-sample-id'))));
    const newestFirst = await shownIds();
    await page.getByLabel('Sort by').selectOption('oldest');
    await expect.poll(shownIds).toEqual([...newestFirst].reverse());
    await page.getByLabel('Sort by').selectOption('newest');
    await expect.poll(shownIds).toEqual(newestFirst);
  });

  it('picks several samples with Ctrl+click and Shift+click, tags them all, and deletes them all', async () => {
    const total = ownImages + evaluationSamples;
    const cells = page.locator('[data-testid=gallery-item]');
    await cells.nth(0).click({ modifiers: ['Control'] });
    await cells.nth(2).click({ modifiers: ['Shift'] });
    await expect.poll(() => page.locator('[data-testid=picked-count]').textContent()).toBe('3 picked');
    await cells.nth(1).click({ modifiers: ['Control'] });
    await expect.poll(() => page.locator('[data-testid=picked-count]').textContent()).toBe('2 picked');
    // Picking opens nothing.
    expect(await page.getByRole('button', { name: 'Close details' }).count()).toBe(0);

    await page.getByLabel('Tag for the picked samples').fill('batch-a');
    await page.getByRole('button', { name: 'Tag all' }).click();
    await page.locator('[data-testid=notice]', { hasText: 'Tagged 2 samples “batch-a”' }).waitFor();
    await page.getByLabel('Filter by tag').selectOption('batch-a');
    await expect.poll(count).toBe(`2 of ${total} images`);
    await page.getByLabel('Filter by tag').selectOption('');
    await expect.poll(count).toBe(`${total} images`);
    await expect.poll(tiles).toBe(total);

    const deleteTwo = async () => {
      await page.getByRole('button', { name: 'Delete 2…' }).click();
      await page.getByRole('button', { name: 'Really delete 2' }).click();
      await expect.poll(count).toBe(`${total - 2} images`);
      expect(await page.locator('[data-testid=bulk-bar]').count()).toBe(0);
    };
    const idsBefore = await page.locator('[data-testid=gallery-item]').evaluateAll((items) => items.map((item) => item.getAttribute('data-sample-id')));
    await deleteTwo();
    // Undo brings both back, untouched, as the gallery still has them.
    await page.locator('[data-testid=undo-bar]').getByRole('button', { name: 'Undo' }).click();
    await expect.poll(count).toBe(`${total} images`);
    expect(await page.locator('[data-testid=gallery-item]').evaluateAll((items) => items.map((item) => item.getAttribute('data-sample-id')))).toEqual(idsBefore);

    await cells.nth(0).click({ modifiers: ['Control'] });
    await cells.nth(1).click({ modifiers: ['Control'] });
    await deleteTwo();
    // The next deletion makes the previous one final; the last one is still in its undo window, so a
    // reload keeps its sample: the gallery holds exactly what was made final.
    await cells.nth(0).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Really delete', exact: true }).click();
    await expect.poll(count).toBe(`${total - 3} images`);
    await page.reload();
    await page.locator('[data-testid=provider]', { hasText: 'CPU' }).waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(count).toBe(`${total - 2} images`);
  });

  it('renames and deletes a preset', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('button', { name: 'Save as…' }).click();
    await page.getByLabel('Preset name', { exact: true }).fill('Circles at 2');
    await page.getByLabel('Preset name', { exact: true }).press('Enter');
    await page.getByLabel('Presets', { exact: true }).selectOption({ label: 'Circles at 2' });
    await page.getByRole('button', { name: 'Rename preset Circles at 2' }).click();
    await page.getByLabel('New preset name').fill('Poster circles');
    await page.getByLabel('New preset name').press('Enter');
    await expect.poll(() => page.getByLabel('Presets', { exact: true }).locator('option').allTextContents()).toEqual(['Apply a preset…', 'Poster circles']);
    await page.getByRole('button', { name: 'Delete preset Poster circles' }).click();
    await page.getByRole('button', { name: 'Really delete preset Poster circles' }).click();
    await expect.poll(() => page.getByLabel('Presets', { exact: true }).locator('option').allTextContents()).toEqual(['No presets yet']);
  });

  it('shows a PNG recipe without applying it, and applies it on request', async () => {
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await page.locator('[data-testid=gallery-item]').last().click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
    const pngPath = path.join(session.dataDir, 'exported.png');
    await download.saveAs(pngPath);
    const exportedSeed = Number(/seed (\d+)/.exec((await page.locator('[data-testid=gallery-item]').last().getAttribute('title')) ?? '')?.[1]);
    await page.getByRole('button', { name: 'Create', exact: true }).click();

    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await page.getByLabel('Base seed', { exact: true }).fill('77');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'PNG info…' }).click()]);
    await chooser.setFiles(pngPath);
    const info = page.locator('[data-testid=png-info]');
    await info.waitFor();
    expect(await info.textContent()).toContain(String(exportedSeed));
    // Inspecting changed nothing.
    expect(await page.getByLabel('Base seed', { exact: true }).inputValue()).toBe('77');
    await screenshot(page, 'png-info');
    await info.getByRole('button', { name: 'Apply these settings' }).click();
    await expect.poll(() => page.getByLabel('Base seed', { exact: true }).inputValue()).toBe(String(exportedSeed));

    // A file that is not a PNG is answered with a sentence, through the same button.
    const textFile = path.join(session.dataDir, 'notes.txt');
    writeFileSync(textFile, 'not an image');
    const [second] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Open PNG…' }).click()]);
    await second.setFiles(textFile);
    await page.locator('[data-testid=notice]', { hasText: 'is not a PNG image' }).waitFor();
    expect(session.problems).toEqual([]);
  });
});
