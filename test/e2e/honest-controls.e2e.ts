/**
 * The settings as a new user tries them, in Chromium through `serve` with the built-in model:
 * a typed class is the class drawn, a field shows the value that runs or says why it cannot,
 * a model folder without its networks cannot start a run, and a restart of `serve` keeps the
 * page's address and its run view.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest } from '../../common/models/manifest';
import { tokenFilePath } from '../../electron/serve/stored-token';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { e2eModelFolder, startServe, type RunningServe } from './serve-process';

const modelFolder = e2eModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));
const steps = manifest.diffusion.steps >= 250 ? 'ddim10' : 'ddim5';
/** A class to type by name: "dress" on the built-in model, else the last class of a fixture model. */
const typedClass = manifest.classes.names.includes('Dress') ? 'Dress' : manifest.classes.names.at(-1)!;

let dataDir: string;
let noNetworks: string;
let serve: RunningServe;
let browser: Browser;
let page: Page;
let problems: string[];

function field(label: string) {
  return page.getByLabel(label, { exact: true });
}

const generate = () => page.getByRole('button', { name: /^Generate/ });
const problemTexts = () => page.locator('[data-testid=field-problem], [data-testid=scale-hint].problem').allTextContents();

async function waitForRunStatus(text: string, timeout = 240_000): Promise<void> {
  await page.locator('[data-testid=run-status]', { hasText: text }).waitFor({ timeout });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-controls-'));
  // The built-in manifest under another id, without a single network beside it.
  noNetworks = path.join(dataDir, 'no-networks');
  mkdirSync(noNetworks);
  const copied = JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')) as { id: string; name: string };
  writeFileSync(path.join(noNetworks, 'manifest.json'), JSON.stringify({ ...copied, id: 'no-networks', name: 'Networks missing' }));
  serve = await startServe(dataDir, [modelFolder, noNetworks]);
  browser = await launchChromium();
  ({ page, problems } = await openStudioPage(browser, serve.url));
  await page.locator('[data-testid=provider]', { hasText: /CPU|CUDA|WEBGPU|DML|COREML/ }).waitFor({ timeout: 120_000 });
  await page.getByLabel('Sampler', { exact: true }).selectOption('ddim');
  await field('Steps').fill(steps);
  await page.getByLabel('Record trajectories').uncheck();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('honest controls in Chromium against serve', () => {
  it(`draws the class typed in the search ("${typedClass.toLowerCase()}") when Ctrl+Enter follows at once`, async () => {
    await field('Images').fill('1');
    await field('Batch size').fill('1');
    await page.getByLabel('Search classes').fill(typedClass.toLowerCase());
    await expect.poll(() => page.locator('[data-testid=selected-class]').textContent()).toBe(typedClass);
    await page.getByLabel('Search classes').press('Control+Enter');
    await waitForRunStatus('Done');
    const header = await page.locator('.run .title').textContent();
    expect(header).toContain(typedClass);
    expect(header).toContain('1 image');
    expect(header).not.toContain('1 images');
  });

  it('refuses impossible images, batch sizes, seeds and scales as they are typed, and keeps Generate disabled with the reason', async () => {
    const refusals: [string, string, RegExp][] = [
      ['Images', '0', /Images must be from 1 to 1,024; 0 is out of range/],
      ['Images', '-3', /Images must be a whole number from 1 to 1,024/],
      ['Images', '2.5', /Images must be a whole number from 1 to 1,024/],
      ['Images', '10000', /Images must be from 1 to 1,024; 10,000 is out of range/],
      ['Batch size', '0', /Batch size must be from 1 to 256/],
      ['Guidance scale', '-5', /The guidance scale must be from 0 to 100; -5 is out of range/],
      ['Guidance scale', '1000', /The guidance scale must be from 0 to 100; 1,000 is out of range/],
    ];
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    refusals.push(['Base seed', '-1', /The seed must be a whole number from 0 to 4,294,967,295/], ['Base seed', '99999999999', /99,999,999,999 is out of range/]);
    for (const [label, text, sentence] of refusals) {
      const box = field(label);
      const before = await box.inputValue();
      await box.fill(text);
      // The box shows what was typed, never a silently changed value.
      expect(await box.inputValue(), `${label} ${text}`).toBe(text);
      expect(await box.getAttribute('aria-invalid'), `${label} ${text}`).toBe('true');
      expect((await problemTexts()).join(' '), `${label} ${text}`).toMatch(sentence);
      expect(await generate().isDisabled(), `${label} ${text}`).toBe(true);
      expect(await page.locator('[data-testid=generate-problem]').textContent()).toMatch(sentence);
      // Ctrl+Enter starts nothing either; the reason comes as a notice.
      await page.keyboard.press('Control+Enter');
      await page.locator('[data-testid=notice]', { hasText: sentence }).waitFor({ timeout: 5000 });
      await box.fill(before);
      expect(await generate().isEnabled(), `${label} back to ${before}`).toBe(true);
    }
    await screenshot(page, 'controls-01-refused-field');
  });

  it('runs the scale typed past the slider, says so, and shows a whole 10-digit seed', async () => {
    await field('Guidance scale').fill('30');
    expect(await page.locator('[data-testid=scale-hint]').textContent()).toContain("past the slider's end at 20");
    const seedBox = field('Base seed');
    await seedBox.fill('4294967295');
    // The whole seed fits in the box: nothing is cut off.
    expect(await seedBox.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
    await field('Images').fill('1');
    await generate().click();
    await waitForRunStatus('Done');
    const header = await page.locator('.run .title').textContent();
    expect(header).toContain('scale 30');
    const [seedCaption] = await page.locator('[data-testid=finished] figcaption').allTextContents();
    expect(seedCaption).toBe('seed 4294967295');
    await field('Guidance scale').fill('4');
  });

  it('offers a model folder without its networks only with a sentence, and Generate stays disabled there', async () => {
    await page.getByLabel('Model', { exact: true }).selectOption('no-networks');
    await expect.poll(async () => (await page.locator('[data-testid=provider]').textContent())?.trim(), { timeout: 60_000 }).toBe('not loaded');
    expect(await generate().isDisabled()).toBe(true);
    const reason = await page.locator('[data-testid=generate-problem]').textContent();
    expect(reason?.length ?? 0).toBeGreaterThan(20);
    await screenshot(page, 'controls-02-model-without-networks');
    await page.getByLabel('Model', { exact: true }).selectOption(manifest.id);
    await page.locator('[data-testid=provider]', { hasText: /CPU|CUDA|WEBGPU|DML|COREML/ }).waitFor({ timeout: 120_000 });
    expect(await generate().isEnabled()).toBe(true);
  });

  it('keeps the address across a restart of serve: the page reconnects, reads its run back and generates again', async () => {
    const stat = statSync(tokenFilePath(dataDir));
    if (process.platform !== 'win32') expect(stat.mode & 0o777).toBe(0o600);
    const tokenBefore = serve.token;
    await field('Images').fill(manifest.image.size >= 32 ? '6' : '300');
    await field('Batch size').fill('1');
    await generate().click();
    await waitForRunStatus('Sampling', 60_000);
    await serve.stop();
    await page.locator('[role=alert]', { hasText: 'reconnects' }).waitFor({ timeout: 30_000 });
    serve = await startServe(dataDir, [modelFolder, noNetworks], 180_000, Number(new URL(serve.origin).port));
    expect(serve.token).toBe(tokenBefore);
    await page.locator('[data-testid=notice]', { hasText: 'reconnected' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('[role=alert]', { hasText: 'reconnects' }).count()).toBe(0);
    // The run was carried on by the queue of the restarted studio or ended; never stuck on "Cancelling…".
    await expect.poll(async () => page.locator('[data-testid=run-status]').textContent(), { timeout: 240_000 }).toMatch(/Done|Stopped by a restart/);
    await page.locator('[data-testid=provider]', { hasText: /CPU|CUDA|WEBGPU|DML|COREML/ }).waitFor({ timeout: 120_000 });
    await field('Images').fill('1');
    await generate().click();
    await waitForRunStatus('Done');
    await screenshot(page, 'controls-03-after-restart');
    expect(problems.filter((problem) => !problem.includes('WebSocket') && !problem.includes('ERR_CONNECTION_REFUSED'))).toEqual([]);
  });
});

