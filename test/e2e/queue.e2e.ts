/**
 * The queue as a user meets it: `serve` on a fresh data folder, real Chromium, the small linear
 * model. Generate stays enabled while a run goes; a second Generate queues behind it, and the
 * Queue tab shows both entries running and waiting, then both done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { repositoryRoot, startServe, type RunningServe } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'linear-8px');
/** Enough work that the first run is still going when the second Generate arrives. */
const firstImages = 300;
const secondImages = 6;

let dataDir: string;
let serve: RunningServe;
let browser: Browser;
let page: Page;
let problems: string[];

async function setField(label: string, value: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(value);
  await field.dispatchEvent('change');
}

async function entryStatuses(): Promise<string[]> {
  return page.locator('[data-testid=queue-entry]').evaluateAll((items) =>
    items.sort((a, b) => Number(a.getAttribute('data-job-id')) - Number(b.getAttribute('data-job-id'))).map((item) => item.getAttribute('data-status') ?? ''),
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-queue-'));
  serve = await startServe(dataDir, modelFolder);
  browser = await launchChromium();
  ({ page, problems } = await openStudioPage(browser, serve.url));
  await page.locator('[data-testid=provider]', { hasText: 'CPU' }).waitFor({ timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the queue in Chromium against serve', () => {
  it('queues a second run from the UI while the first goes, and the Queue tab sees both complete', async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField('Steps', '100');
    await setField('Images', String(firstImages));
    await setField('Batch size', '1');
    await page.getByLabel('Record trajectories').uncheck();
    const generate = page.getByRole('button', { name: /^Generate/ });
    await generate.click();
    await page.locator('[data-testid=run-status]', { hasText: 'Sampling' }).waitFor({ timeout: 60_000 });

    // The GPU is busy; the button is not.
    expect(await generate.isEnabled()).toBe(true);
    await setField('Images', String(secondImages));
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
    expect(problems).toEqual([]);
  });
});
