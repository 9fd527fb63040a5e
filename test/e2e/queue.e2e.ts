/**
 * The queue as a user meets it: `serve` on a fresh data folder, real Chromium, the small linear
 * model. Generate stays enabled while a run goes; a second Generate queues behind it, and the
 * Queue tab shows both entries running and waiting, then both done.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');
/** Enough work that the first run is still going when the second Generate arrives. */
const firstImages = 300;
const secondImages = 6;

let session: StudioSession;
let page: Page;

async function entryStatuses(): Promise<string[]> {
  return page.locator('[data-testid=queue-entry]').evaluateAll((items) =>
    items.sort((a, b) => Number(a.getAttribute('data-job-id')) - Number(b.getAttribute('data-job-id'))).map((item) => item.getAttribute('data-status') ?? ''),
  );
}

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-queue-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('the queue in Chromium against serve', () => {
  it('queues a second run from the UI while the first goes, and the Queue tab sees both complete', async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField(page, 'Steps', '100');
    await setField(page, 'Images', String(firstImages));
    await setField(page, 'Batch size', '1');
    await page.getByLabel('Record trajectories').uncheck();
    const generate = page.getByRole('button', { name: /^Generate/ });
    await generate.click();
    await page.locator('[data-testid=run-status]', { hasText: 'Sampling' }).waitFor({ timeout: 60_000 });

    // The GPU is busy; the button is not.
    expect(await generate.isEnabled()).toBe(true);
    await setField(page, 'Images', String(secondImages));
    await generate.click();
    await page.locator('[data-testid=notice]', { hasText: `Queued ${secondImages} images` }).waitFor({ timeout: 30_000 });

    await page.getByRole('button', { name: 'Queue', exact: true }).click();
    await expect.poll(entryStatuses, { timeout: 30_000 }).toEqual(['running', 'queued']);
    await screenshot(page, 'queue-01-running-and-waiting');
    expect(await page.locator('[data-testid=queue-summary]').textContent()).toContain('1 running · 1 waiting');

    await expect.poll(entryStatuses, { timeout: 240_000, interval: 250 }).toEqual(['completed', 'completed']);
    const counts = await page.locator('[data-testid=queue-entry] .count').allTextContents();
    expect(counts.sort()).toEqual([`${firstImages}/${firstImages}`, `${secondImages}/${secondImages}`].sort());
    await screenshot(page, 'queue-02-both-done');

    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(async () => page.locator('[data-testid=gallery-count]').textContent(), { timeout: 30_000 }).toBe(`${firstImages + secondImages} images`);
    expect(session.problems).toEqual([]);
  });
});
