/**
 * From launch to the first images: `serve` started as a user starts it, on a fresh data folder and
 * the built-in model, Chromium on its address, DDIM 25 with four fixed seeds, Generate. The times of
 * each stage are printed and kept as a JSON line in test-results/startup.jsonl; only what the user
 * sees is asserted (four images, the seeds asked for), never a time, since a busy machine is slower.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest } from '../../common/models/manifest';
import { ensureServeProgramBuilt } from '../../electron/serve/program-build';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { builtInModelFolder, cpuSecondsOf, repositoryRoot, startServe, type RunningServe } from './serve-process';
import { setField } from './studio-session';

const modelFolder = builtInModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));
const baseSeed = 1000;
const imageCount = 4;
const resultsFile = path.join(repositoryRoot, 'test-results', 'startup.jsonl');

/** Wall-clock moments (Date.now(), shared by this process and the page) that the page saw, each at the frame it painted. */
interface PageMoments {
  clickedAt: number | null;
  firstPreviewAt: number | null;
  imagesAt: number | null;
}

/**
 * Watches every frame the page paints for the first live preview and for all `count` finished images
 * decoded, and notes when Generate was pressed; read back with readMoments.
 */
async function watchFrames(page: Page, count: number): Promise<void> {
  await page.evaluate((expected) => {
    const moments: PageMoments = { clickedAt: null, firstPreviewAt: null, imagesAt: null };
    (window as unknown as { startupMoments: PageMoments }).startupMoments = moments;
    const generate = [...document.querySelectorAll('button')].find((button) => button.textContent?.trim().startsWith('Generate'));
    generate?.addEventListener('click', () => (moments.clickedAt ??= Date.now()), { capture: true });
    const tick = (): void => {
      if (moments.clickedAt !== null && moments.firstPreviewAt === null && document.querySelector('[data-testid=previews] canvas')) moments.firstPreviewAt = Date.now();
      const images = [...document.querySelectorAll<HTMLImageElement>('[data-testid=finished] img')];
      if (images.length === expected && images.every((image) => image.complete && image.naturalWidth > 0)) {
        moments.imagesAt = Date.now();
        return;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, count);
}

/**
 * Date.now() at the first frame the page painted with Generate shown, and at the first with it
 * enabled. Read in the page at each frame: a locator's waitFor polls with a back-off of up to half
 * a second, which would count its own sleep as the studio's start.
 */
function generateMoments(page: Page): Promise<{ shownAt: number; usableAt: number }> {
  return page.evaluate(
    () =>
      new Promise<{ shownAt: number; usableAt: number }>((resolve, reject) => {
        setTimeout(() => reject(new Error('Generate was not usable 120 s after the page opened.')), 120_000);
        let shownAt: number | null = null;
        const tick = (): void => {
          const generate = [...document.querySelectorAll('button')].find((button) => button.textContent?.trim().startsWith('Generate'));
          if (generate) shownAt ??= Date.now();
          if (generate && !generate.disabled && shownAt !== null) {
            resolve({ shownAt, usableAt: Date.now() });
            return;
          }
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
  );
}

function readMoments(page: Page): Promise<PageMoments> {
  return page.evaluate(() => (window as unknown as { startupMoments: PageMoments }).startupMoments);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

let dataDir: string;
let browser: Browser;
let serve: RunningServe;
let page: Page;
let problems: string[];
/** Date.now() when serve was spawned, when it printed its address, when the page showed Generate and when Generate became usable. */
let launchedAt: number;
let readyAt: number;
let pageShownAt: number;
let pageLoadedAt: number;
/** CPU seconds serve had used at its ready line and once Generate was usable. */
let cpuAtReady: number | null;
let cpuAtPageLoaded: number | null;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-startup-'));
  // A launch after the sources changed builds the serve program once; the launch measured is a later one, as the renderer's is.
  await ensureServeProgramBuilt(() => undefined);
  // The browser is open before the studio starts, as a user's is, so its own start is not counted.
  browser = await launchChromium();
  launchedAt = Date.now();
  serve = await startServe(dataDir, modelFolder);
  readyAt = launchedAt + serve.readyAfterMs;
  cpuAtReady = cpuSecondsOf(serve.pid);
  ({ page, problems } = await openStudioPage(browser, serve.url));
  // Generate works once the page has the model loaded.
  ({ shownAt: pageShownAt, usableAt: pageLoadedAt } = await generateMoments(page));
  cpuAtPageLoaded = cpuSecondsOf(serve.pid);
  await page.getByRole('button', { name: /^Generate/ }).and(page.locator(':enabled')).waitFor({ timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('startup: launch to the first images', () => {
  it(`draws ${imageCount} images with DDIM 25 on the built-in model right after launch, and reports how long each stage took`, async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddim');
    await setField(page, 'Steps', 'ddim25');
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await setField(page, 'Base seed', String(baseSeed));
    await setField(page, 'Images', String(imageCount));
    await setField(page, 'Batch size', String(imageCount));
    await watchFrames(page, imageCount);
    await page.getByRole('button', { name: /^Generate/ }).click();

    await page.waitForFunction(() => (window as unknown as { startupMoments: PageMoments }).startupMoments.imagesAt !== null, undefined, { timeout: 240_000 });
    const moments = await readMoments(page);
    const cpuAtImages = cpuSecondsOf(serve.pid);
    await screenshot(page, 'startup-4-images');

    const finished = page.locator('[data-testid=finished] figure');
    expect(await finished.count()).toBe(imageCount);
    const captions = await finished.locator('figcaption').allTextContents();
    expect(captions.map((caption) => caption.trim())).toEqual(Array.from({ length: imageCount }, (_, index) => `seed ${baseSeed + index}`));
    await expect.poll(() => page.locator('[data-testid=run-status]').textContent()).toBe('Done');
    expect(problems).toEqual([]);

    const { clickedAt, firstPreviewAt, imagesAt } = moments;
    expect(clickedAt).not.toBeNull();
    expect(imagesAt).not.toBeNull();
    const figures = {
      model: manifest.id,
      steps: 'ddim25',
      images: imageCount,
      launchToReadyMs: readyAt - launchedAt,
      readyToPageLoadedMs: pageLoadedAt - readyAt,
      readyToPageShownMs: pageShownAt - readyAt,
      clickToFirstPreviewMs: firstPreviewAt === null ? null : firstPreviewAt - clickedAt!,
      clickToImagesMs: imagesAt! - clickedAt!,
      launchToImagesMs: imagesAt! - launchedAt,
      /** CPU seconds serve used (all threads) up to each point: what a quiet machine's wall time is bounded by. */
      serveCpuSeconds: { toReady: cpuAtReady, toPageLoaded: cpuAtPageLoaded, toImages: cpuAtImages },
      /** Whether this launch paid a renderer build (it should not: the run builds one before the first test). */
      launchBuiltRenderer: serve.output().includes('Building the renderer'),
      /** Whether this launch built the serve program (only when a source changed since the build made before it). */
      launchBuiltProgram: serve.output().includes('Building the serve program'),
      loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
      at: new Date().toISOString(),
    };
    mkdirSync(path.dirname(resultsFile), { recursive: true });
    appendFileSync(resultsFile, `${JSON.stringify(figures)}\n`);
    process.stdout.write(
      [
        '',
        `STARTUP (${manifest.id}, DDIM 25, ${imageCount} images; load average ${figures.loadAverage.join(' ')})`,
        `  launch → ready:         ${seconds(figures.launchToReadyMs)}${figures.launchBuiltRenderer ? ' (with a renderer build)' : ''}${figures.launchBuiltProgram ? ' (with a serve program build)' : ''}`,
        `  ready → page loaded:    ${seconds(figures.readyToPageLoadedMs)} (shown after ${seconds(figures.readyToPageShownMs)}, Generate usable after that)`,
        `  click → first preview:  ${figures.clickToFirstPreviewMs === null ? 'none shown' : seconds(figures.clickToFirstPreviewMs)}`,
        `  click → ${imageCount} images:       ${seconds(figures.clickToImagesMs)}`,
        `  launch → ${imageCount} images:      ${seconds(figures.launchToImagesMs)}`,
        `  serve's CPU time to ready / page loaded / ${imageCount} images: ${[cpuAtReady, cpuAtPageLoaded, cpuAtImages].map((cpu) => (cpu === null ? 'n/a' : `${cpu.toFixed(2)} s`)).join(' / ')}`,
        '',
      ].join('\n'),
    );
  });

  it('refuses a --renderer folder with no built page, saying what to do, before it opens anything', async () => {
    const emptyRenderer = mkdtempSync(path.join(tmpdir(), 'gds-startup-renderer-'));
    const otherData = mkdtempSync(path.join(tmpdir(), 'gds-startup-'));
    try {
      await expect(startServe(otherData, modelFolder, 60_000, 0, ['--renderer', emptyRenderer])).rejects.toThrow(
        `serve exited with code 1 before it was ready:\nThere is no built renderer in ${emptyRenderer} (no index.html). Build one with \`npx vite build --config renderer/vite.config.ts --outDir ${emptyRenderer}\`, or leave out --renderer to serve renderer/dist.`,
      );
      expect(readdirSync(otherData)).toEqual([]);
    } finally {
      rmSync(emptyRenderer, { recursive: true, force: true });
      rmSync(otherData, { recursive: true, force: true });
    }
  });
});
