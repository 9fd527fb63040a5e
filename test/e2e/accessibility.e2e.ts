/**
 * The studio without a mouse and through a screen reader's eyes, in Chromium through `serve` with
 * the built-in model: a keyboard-only journey (choose a class, set the fields, generate, walk the
 * gallery with the arrows, open and leave the trajectory dialog), axe-core on every view with no
 * serious or critical finding, and every view usable from 800 px to 1920 px wide.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest } from '../../common/models/manifest';
import { e2eModelFolder, startServe, type RunningServe } from './serve-process';

const axePath = createRequire(import.meta.url).resolve('axe-core');
const modelFolder = e2eModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));
const steps = manifest.diffusion.steps >= 250 ? 'ddim10' : 'ddim5';
const sneaker = manifest.classes.names.includes('Sneaker') ? 'Sneaker' : manifest.classes.names[1]!;
/** Screenshots for the team's review; outside the repository. */
const screensDir = process.env.STUDIO_SCREENS_DIR ?? '/work/notes/screens';

let dataDir: string;
let serve: RunningServe;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

interface Finding {
  id: string;
  impact: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousFindings(): Promise<Finding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    const { violations } = await axe.run(document);
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact ?? '',
        nodes: violation.nodes.slice(0, 4).map((node) => `${node.target.join(' ')}: ${node.failureSummary ?? ''}`),
      }));
  });
}

async function activeLabel(): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const labelled = element.getAttribute('aria-label');
    const byFor = element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null;
    return (labelled ?? byFor ?? element.textContent ?? '').trim();
  });
}

/** Presses Tab until the focused control's name matches, as a keyboard user would. */
async function tabTo(name: RegExp, limit = 80): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    await page.keyboard.press('Tab');
    if (name.test(await activeLabel())) return;
  }
  throw new Error(`Tab never reached a control named ${name} (last: "${await activeLabel()}").`);
}

/** Presses Tab until the focused element matches the selector. */
async function tabToElement(selector: string, limit = 80): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((wanted) => document.activeElement?.matches(wanted) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector} (last: "${await activeLabel()}").`);
}

async function openTab(label: string): Promise<void> {
  await tabTo(new RegExp(`^${label}`));
  await page.keyboard.press('Enter');
}

async function shoot(name: string): Promise<void> {
  mkdirSync(screensDir, { recursive: true });
  for (const width of [800, 1920]) {
    await page.setViewportSize({ width, height: width === 800 ? 700 : 1080 });
    await page.screenshot({ path: path.join(screensDir, `${name}-${width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-a11y-'));
  serve = await startServe(dataDir, modelFolder);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  // axe-core is injected as an inline script, which the studio's policy rightly refuses.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(serve.url);
  await page.locator('[data-testid=provider]', { hasText: /CPU|CUDA|WEBGPU|DML|COREML/ }).waitFor({ timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the studio by keyboard and for assistive technology', () => {
  it('goes from a class to a finished run with the keyboard alone', async () => {
    await tabTo(/^Search classes$/);
    await page.keyboard.type(sneaker.slice(0, 4).toLowerCase());
    await expect.poll(() => page.locator('[data-testid=selected-class]').textContent()).toBe(sneaker);
    // The arrows move the chosen class through the matches and back.
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.locator('[data-testid=selected-class]').textContent()).toBe(manifest.classes.names[1]);
    await page.keyboard.type(sneaker.toLowerCase());
    await expect.poll(() => page.locator('[data-testid=selected-class]').textContent()).toBe(sneaker);

    await tabTo(/^Steps$/);
    await page.keyboard.press('Control+a');
    await page.keyboard.type(steps);
    await tabTo(/^Images$/);
    await page.keyboard.press('Control+a');
    await page.keyboard.type('3');
    await tabTo(/^Batch size$/);
    await page.keyboard.press('Control+a');
    await page.keyboard.type('3');
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status]', { hasText: 'Done' }).waitFor({ timeout: 240_000 });
    expect(await page.locator('.run .title').textContent()).toContain(sneaker);
  });

  it('walks the gallery grid with the arrows, closes the details with Escape, and the trajectory dialog takes and returns focus', async () => {
    await openTab('Gallery');
    await tabToElement('[data-testid=gallery-item]');
    await page.keyboard.press('Enter');
    const details = page.getByRole('button', { name: 'Close details' });
    await details.waitFor();
    const first = await page.evaluate(() => document.activeElement?.getAttribute('data-sample-id'));
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-sample-id'))).not.toBe(first);
    const second = await page.evaluate(() => document.activeElement?.getAttribute('data-sample-id'));
    await expect.poll(() => page.locator('[data-testid=gallery-item][aria-pressed=true]').getAttribute('data-sample-id')).toBe(second);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-sample-id'))).toBe(first);

    await tabTo(/^Trajectory$/);
    await page.keyboard.press('Enter');
    const dialog = page.locator('[data-testid=trajectory]');
    await dialog.waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('[data-testid=trajectory]') !== null)).toBe(true);
    // Tab stays inside the modal dialog.
    for (let presses = 0; presses < 12; presses++) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.closest('[data-testid=trajectory]') !== null)).toBe(true);
    }
    expect(await seriousFindings()).toEqual([]);
    await shoot('trajectory');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await activeLabel()).toBe('Trajectory');

    expect(await seriousFindings()).toEqual([]);
    await shoot('gallery-details');
    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'detached' });
  });

  for (const view of ['Create', 'Gallery', 'Scale sweep', 'Queue', 'Evaluation']) {
    it(`has no serious or critical axe-core finding on the ${view} view, and a heading that names it`, async () => {
      await page.getByRole('button', { name: view, exact: true }).click();
      await page.waitForTimeout(300);
      expect(await page.locator('h1').count()).toBeGreaterThanOrEqual(1);
      expect(await seriousFindings()).toEqual([]);
      await shoot(view.toLowerCase().replace(/\s+/g, '-'));
    });
  }

  it('keeps every control of the evaluation page within reach at 900 px and 800 px wide', async () => {
    await page.getByRole('button', { name: 'Evaluation', exact: true }).click();
    for (const width of [900, 800]) {
      await page.setViewportSize({ width, height: 700 });
      for (const control of [page.locator('[data-testid=evaluation-start]'), page.getByLabel('Search classes')]) {
        await control.scrollIntoViewIfNeeded();
        const box = await control.boundingBox();
        expect(box, `at ${width} px`).not.toBeNull();
        expect(box!.x + box!.width, `at ${width} px`).toBeLessThanOrEqual(width);
        expect(box!.x, `at ${width} px`).toBeGreaterThanOrEqual(0);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(pageErrors).toEqual([]);
  });
});
