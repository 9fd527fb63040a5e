/**
 * The gallery with 10,000 samples: the grid stays virtual (a few hundred cells in the DOM however
 * far one scrolls) and the page's memory is measured and printed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOISE_ALGORITHM } from '../../common/diffusion/rng';
import { ModelManifest } from '../../common/models/manifest';
import { modelSha256 } from '../../common/models/model-identity';
import { galleryFile } from '../../electron/gallery';
import { ModelsRepository } from '../../electron/gallery/models-repository';
import { openDatabase } from '../../electron/gallery/open-database';
import { RunsRepository } from '../../electron/gallery/runs-repository';
import { SamplesRepository } from '../../electron/gallery/samples-repository';
import { TrajectoriesRepository } from '../../electron/gallery/trajectories-repository';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { e2eModelFolder, startServe, type RunningServe } from './serve-process';

const sampleCount = 10_000;
const modelFolder = e2eModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));

let dataDir: string;
let serve: RunningServe;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
const figures: string[] = [];

/** A distinct small grey image per sample, so the grid shows real, different pictures. */
function samplePng(k: number): Uint8Array {
  const size = manifest.image.size;
  const png = new PNG({ width: size, height: size });
  for (let p = 0; p < size * size; p++) {
    const value = (p * 7 + k * 13) % 256;
    png.data.set([value, value, value, 255], p * 4);
  }
  return PNG.sync.write(png);
}

/** Writes the samples through the gallery's own repositories, in one transaction to spare 10,000 fsyncs. */
function fillGallery(): void {
  const { db } = openDatabase(galleryFile(dataDir));
  const runs = new RunsRepository(db);
  const gallery = { models: new ModelsRepository(db), runs, samples: new SamplesRepository(db, runs, new TrajectoriesRepository(db)) };
  try {
    db.exec('BEGIN');
    gallery.models.register(manifest, modelSha256(manifest));
    const classes = manifest.classes.count;
    for (let batch = 0; batch < sampleCount / 1000; batch++) {
      const run = gallery.runs.start({
        request: {
          modelId: manifest.id,
          classIndex: batch % classes,
          mode: manifest.defaults.mode,
          scale: batch,
          sampler: 'ddim',
          steps: 'ddim25',
          eta: 0,
          clipDenoised: true,
          seeds: Array.from({ length: 1000 }, (_, k) => k),
          batchSize: 16,
          provider: 'cpu',
        },
        provider: 'cpu',
        noiseAlgorithm: NOISE_ALGORITHM,
        appVersion: 'e2e',
      });
      for (let k = 0; k < 1000; k++) gallery.samples.add(run.id, { seed: k, png: samplePng(batch * 1000 + k), confidence: null });
      gallery.runs.end(run.id, 'completed');
    }
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

async function heapUsedMb(): Promise<{ heap: number; nodes: number }> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const metric = (name: string) => metrics.find((entry) => entry.name === name)?.value ?? NaN;
  return { heap: metric('JSHeapUsedSize') / 2 ** 20, nodes: metric('Nodes') };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-scale-'));
  const filledFrom = performance.now();
  fillGallery();
  figures.push(`wrote ${sampleCount} samples in ${((performance.now() - filledFrom) / 1000).toFixed(1)} s`);
  serve = await startServe(dataDir, modelFolder);
  browser = await launchChromium();
  ({ page } = await openStudioPage(browser, serve.url));
  cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`\nFIGURES\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
});

describe('gallery with 10,000 samples', () => {
  it('keeps the grid virtual while every sample is loaded, and reports memory', async () => {
    const before = await heapUsedMb();
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent(), { timeout: 60_000 }).toBe(`${sampleCount} images`);
    const grid = page.locator('[data-testid=gallery-grid]');
    const loadedFrom = performance.now();
    // Scroll to the end, page after page, until the oldest sample (id 1, newest first) is on screen.
    const lastCell = page.locator('[data-testid=gallery-item]').last();
    for (let round = 0; round < 500 && (await lastCell.getAttribute('data-sample-id')) !== '1'; round++) {
      const height = await grid.evaluate((element) => {
        element.scrollTop = element.scrollHeight;
        return element.scrollHeight;
      });
      await grid
        .evaluate((element, previous) => new Promise<void>((resolve) => {
          const check = () => (element.scrollHeight > previous ? resolve() : requestAnimationFrame(check));
          setTimeout(resolve, 5000);
          check();
        }), height)
        .catch(() => undefined);
      await page.waitForTimeout(20);
    }
    figures.push(`scrolled through all ${sampleCount} samples in ${((performance.now() - loadedFrom) / 1000).toFixed(1)} s`);
    const cells = await page.locator('[data-testid=gallery-item]').count();
    const lastId = await page.locator('[data-testid=gallery-item]').last().getAttribute('data-sample-id');
    expect(lastId).toBe('1');
    expect(cells).toBeLessThan(300);
    await page.waitForTimeout(1000);
    await screenshot(page, '09-gallery-10000');
    const after = await heapUsedMb();
    figures.push(
      `renderer with ${sampleCount} gallery items: JS heap ${after.heap.toFixed(1)} MB (${before.heap.toFixed(1)} MB before opening the gallery), ${after.nodes} DOM nodes, ${cells} grid cells in the DOM`,
    );
  });
});
