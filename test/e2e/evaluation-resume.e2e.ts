/**
 * Resuming a cancelled evaluation as a researcher does it, in Chromium through `serve`: the page
 * follows the resumed evaluation (waiting, running, completed) instead of staying on "cancelled"
 * while it runs in the background, and Resume is not offered while it goes.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser';
import { openStudioSession, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'evaluation-models', 'evaluated-8px');
/** Enough samples that the evaluation is still drawing when Cancel arrives. */
const samplesPerScale = 1500;

let session: StudioSession;
let page: Page;

const status = () => page.locator('[data-testid=evaluation-status]');

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-evaluation-resume-' });
  ({ page } = session);
  await page.getByRole('button', { name: 'Evaluation', exact: true }).click();
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('a resumed evaluation in Chromium against serve', () => {
  it('is followed to the end after Evaluate, Cancel, Resume, with Resume withdrawn while it goes', async () => {
    await page.getByLabel('Scales', { exact: true }).fill('0, 4');
    await page.getByLabel('Samples per scale', { exact: true }).fill(String(samplesPerScale));
    await page.locator('[data-testid=evaluation-start]').click();
    await status().filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await status().filter({ hasText: 'cancelled' }).waitFor({ timeout: 60_000 });

    const resume = page.getByRole('button', { name: 'Resume', exact: true });
    await resume.click();
    // At once the page reads the evaluation as waiting or running, never as still cancelled.
    await expect.poll(async () => status().textContent(), { timeout: 10_000 }).toMatch(/pending|running/);
    expect(await resume.count()).toBe(0);
    await screenshot(page, 'evaluation-resume-01-following');
    await status().filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=evaluation-progress]').waitFor({ timeout: 60_000 });

    await status().filter({ hasText: 'completed' }).waitFor({ timeout: 400_000 });
    expect(await page.locator('[data-testid=evaluation-table] tbody tr').count()).toBe(2);
    expect(session.problems).toEqual([]);
  }, 600_000);
});
