/**
 * The studio as a user meets it: `serve` with a fresh data folder, real Chromium, the real model.
 * One journey, step by step: generate, inspect, re-run, trajectory, sweep, cancel, restart,
 * a run cut short by a killed process and finished afterwards.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest } from '../../common/models/manifest';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { e2eModelFolder, startServe, type RunningServe } from './serve-process';

const modelFolder = e2eModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));
/** "Sneaker" on the built-in Fashion-MNIST model; the second class of a fixture model. */
const className = manifest.classes.names.includes('Sneaker') ? 'Sneaker' : manifest.classes.names[1]!;
const steps = manifest.diffusion.steps >= 250 ? 'ddim25' : 'ddim10';
const stepCount = Number(steps.slice(4));
/** Enough work that the run is still going when Escape arrives, even on a tiny model. */
const cancelImages = manifest.image.size >= 32 ? 8 : 200;
/** Images of the run that serve is killed in: several seconds of work after its first sample. */
const killedRunImages = manifest.image.size >= 32 ? 4 : 400;
const figures: string[] = [];

let dataDir: string;
/** The real model, and a model folder whose manifest was cut short. */
let modelFolders: string[];
let serve: RunningServe;
let browser: Browser;
let page: Page;
let problems: string[];

async function pixelsOf(sampleId: number): Promise<Buffer> {
  const response = await fetch(`${serve.origin}/images/sample/${sampleId}.png?token=${serve.token}`);
  expect(response.status).toBe(200);
  return PNG.sync.read(Buffer.from(await response.arrayBuffer())).data;
}

async function setField(label: string, value: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(value);
  await field.dispatchEvent('change');
}

async function waitForRunStatus(text: string, timeout = 240_000): Promise<void> {
  await page.locator('[data-testid=run-status]', { hasText: text }).waitFor({ timeout });
}

async function galleryIds(): Promise<number[]> {
  const ids = await page.locator('[data-testid=gallery-item]').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-sample-id'))));
  return ids;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-'));
  const brokenModel = path.join(dataDir, 'broken-model');
  mkdirSync(brokenModel);
  writeFileSync(path.join(brokenModel, 'manifest.json'), '{"format": 1, "id": "broken');
  modelFolders = [modelFolder, brokenModel];
  serve = await startServe(dataDir, modelFolders);
  figures.push(`serve ready after ${(serve.readyAfterMs / 1000).toFixed(1)} s (model ${manifest.id})`);
  browser = await launchChromium();
  ({ page, problems } = await openStudioPage(browser, serve.url));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`\nFIGURES\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
});

describe('studio in Chromium against serve', () => {
  it('loads the model and shows the provider in use', async () => {
    const provider = page.locator('[data-testid=provider]');
    await expect.poll(async () => (await provider.textContent())?.trim(), { timeout: 120_000 }).toMatch(/^(CPU|CUDA|WEBGPU|DML|COREML)$/);
    await screenshot(page, '01-start');
  });

  it('names the model folder it skipped and says why', async () => {
    const skipped = page.locator('[data-testid=model-problems]');
    await expect.poll(async () => (await skipped.locator('summary').textContent())?.trim()).toBe('1 model folder skipped');
    await skipped.locator('summary').click();
    const item = skipped.locator('li');
    await expect.poll(async () => item.textContent()).toMatch(/broken-model.*not valid JSON.*Re-export the model/);
    await skipped.locator('summary').click();
  });

  it(`generates 4 × "${className}" at scale 4 with DDIM, showing progress and live previews`, async () => {
    await page.getByLabel('Search classes').fill(className.slice(0, 4).toLowerCase());
    await page.getByRole('option', { name: new RegExp(`^\\d+ ${className}$`) }).click();
    await expect.poll(() => page.locator('[data-testid=selected-class]').textContent()).toBe(className);
    // The mode stays the model's default, which uses the classifier whenever the model has one.
    expect(await page.getByLabel('Mode', { exact: true }).inputValue()).toBe(manifest.defaults.mode);
    await setField('Guidance scale', '4');
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddim');
    await setField('Steps', steps);
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await setField('Base seed', '1000');
    await setField('Images', '4');
    await setField('Batch size', '4');

    // Frame times while sampling: a requestAnimationFrame loop in the page records every frame.
    await page.evaluate(() => {
      const frames: number[] = [];
      (window as unknown as { frameTimes: number[] }).frameTimes = frames;
      let last = performance.now();
      const tick = (now: number) => {
        frames.push(now - last);
        last = now;
        if (frames.length < 100_000) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const clickedAt = performance.now();
    await page.keyboard.press('Control+Enter');

    const seenSteps = new Set<number>();
    const stats = page.locator('[data-testid=run-stats]');
    while (!(await page.locator('[data-testid=run-status]', { hasText: /Done|Failed/ }).count())) {
      const match = /step (\d+)\//.exec((await stats.textContent().catch(() => '')) ?? '');
      if (match && Number(match[1]) > 0) seenSteps.add(Number(match[1]));
      if (seenSteps.size === 2) await screenshot(page, '02-sampling');
      await page.waitForTimeout(50);
    }
    await waitForRunStatus('Done');
    const finished = page.locator('[data-testid=finished] img');
    await expect.poll(() => finished.count()).toBe(4);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=finished] img')].every((img) => img.complete && img.naturalWidth > 0));
    figures.push(`serve start → first 4 images on screen: ${((performance.now() - serve.startedAt) / 1000).toFixed(1)} s (generate click → images: ${((performance.now() - clickedAt) / 1000).toFixed(1)} s)`);
    const frameTimes = await page.evaluate(() => (window as unknown as { frameTimes: number[] }).frameTimes.splice(0));
    const sorted = [...frameTimes].sort((a, b) => a - b);
    const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    figures.push(`frame time while sampling: median ${quantile(0.5).toFixed(1)} ms, p95 ${quantile(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms over ${sorted.length} frames`);
    expect(seenSteps.size).toBeGreaterThan(0);
    expect([...seenSteps].every((step) => step >= 1 && step <= stepCount)).toBe(true);
    await expect.poll(() => stats.textContent()).toContain(`step ${stepCount}/${stepCount}`);
    await screenshot(page, '03-generated');
  });

  it('lists the 4 new samples in the gallery, with every setting in the detail', async () => {
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(galleryIds).toHaveLength(4);
    await page.locator('[data-testid=gallery-item]').first().click();
    const settings = page.locator('[data-testid=detail-settings]');
    await expect.poll(() => settings.textContent()).toContain(className);
    const text = (await settings.textContent()) ?? '';
    expect(text).toMatch(/Scale\s*4\.0/);
    expect(text).toMatch(/Sampler\s*DDIM/);
    expect(text).toMatch(new RegExp(`Steps\\s*${steps}`));
    expect(text).toMatch(/Seed\s*100[0-3]/);
    expect(text).toContain(manifest.name);
    await screenshot(page, '04-gallery-detail');
  });

  it('re-runs a sample and gets the same pixels', async () => {
    const [originalId] = await galleryIds();
    await page.locator(`[data-testid=gallery-item][data-sample-id="${originalId}"]`).click();
    await page.getByRole('button', { name: 'Re-run' }).click();
    await waitForRunStatus('Done');
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(galleryIds).toHaveLength(5);
    const rerunId = Math.max(...(await galleryIds()));
    expect(rerunId).not.toBe(originalId);
    const [original, rerun] = await Promise.all([pixelsOf(originalId!), pixelsOf(rerunId)]);
    expect(rerun.equals(original)).toBe(true);
  });

  it('opens the trajectory of the re-run sample: xₜ and x̂₀ side by side, scrubbing, plots', async () => {
    const rerunId = Math.max(...(await galleryIds()));
    await page.locator(`[data-testid=gallery-item][data-sample-id="${rerunId}"]`).click();
    await page.getByRole('button', { name: 'Trajectory' }).click();
    const viewer = page.locator('[data-testid=trajectory]');
    await viewer.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=trajectory] img')].every((img) => img.complete && img.naturalWidth > 0));
    await expect.poll(() => viewer.locator('img').count()).toBe(2);
    await expect.poll(() => viewer.textContent()).toContain(`step ${stepCount} / ${stepCount}`);
    const scrubber = page.getByLabel('Trajectory step');
    await scrubber.fill('0');
    await expect.poll(() => viewer.textContent()).toContain(`step 1 / ${stepCount}`);
    if (manifest.classifier) await expect.poll(() => viewer.locator('canvas').count()).toBeGreaterThanOrEqual(2);
    await scrubber.fill(String(Math.floor(stepCount / 2)));
    await screenshot(page, '05-trajectory');
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
  });

  it('exports a PNG with its recipe, and dropping that PNG restores every setting', async () => {
    const sampleId = Math.min(...(await galleryIds()));
    await page.locator(`[data-testid=gallery-item][data-sample-id="${sampleId}"]`).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.png$/);
    const png = readFileSync((await download.path())!);
    await setField('Guidance scale', '11');
    await page.getByLabel('Seed', { exact: true }).selectOption('random');
    const drop = await page.evaluateHandle(
      ({ bytes, name }) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }));
        return transfer;
      },
      { bytes: [...png], name: download.suggestedFilename() },
    );
    await page.locator('.shell').dispatchEvent('drop', { dataTransfer: drop });
    await expect.poll(() => page.getByLabel('Guidance scale', { exact: true }).inputValue()).toBe('4');
    expect(await page.getByLabel('Seed', { exact: true }).inputValue()).toBe('fixed');
    expect(Number(await page.getByLabel('Base seed').inputValue())).toBeGreaterThanOrEqual(1000);
    expect(await page.getByLabel('Steps').inputValue()).toBe(steps);
    expect(await page.locator('[data-testid=selected-class]').textContent()).toBe(className);
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('Settings restored');
  });

  it('runs a 3-scale sweep over the same seeds as one grid', async () => {
    await setField('Images', '2');
    await page.getByRole('button', { name: 'Scale sweep' }).click();
    await page.getByLabel('Scales').fill('1, 4, 8');
    await page.getByRole('button', { name: 'Run sweep' }).click();
    await page.locator('[data-testid=sweep-progress]', { hasText: '6/6 · completed' }).waitFor({ timeout: 240_000 });
    await expect.poll(() => page.locator('[data-testid=sweep-cell] img').count()).toBe(6);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=sweep-grid] img')].every((img) => img.complete && img.naturalWidth > 0));
    await screenshot(page, '06-sweep');
  });

  it('cancels a long run within a step, keeping the samples it finished', async () => {
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField('Steps', String(manifest.diffusion.steps));
    await setField('Images', String(cancelImages));
    await setField('Batch size', manifest.image.size >= 32 ? '2' : '1');
    await page.getByLabel('Record trajectories').uncheck();
    await page.keyboard.press('Control+Enter');
    const stats = page.locator('[data-testid=run-stats]');
    await expect.poll(async () => Number(/step (\d+)\//.exec((await stats.textContent()) ?? '')?.[1] ?? 0), { timeout: 120_000 }).toBeGreaterThan(3);
    await page.keyboard.press('Escape');
    const cancelledAt = performance.now();
    await waitForRunStatus('Cancelled', 60_000);
    figures.push(`cancel → run reported cancelled: ${(performance.now() - cancelledAt).toFixed(0)} ms`);
    await screenshot(page, '07-cancelled');
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    const count = Number(/(\d+) images/.exec((await page.locator('[data-testid=gallery-count]').textContent()) ?? '')?.[1]);
    expect(count).toBeGreaterThanOrEqual(11);
    expect(count).toBeLessThan(11 + cancelImages);
    await page.waitForTimeout(1000);
    expect(await page.locator('[data-testid=gallery-count]').textContent()).toBe(`${count} images`);
  });

  it('finds the gallery intact after serve restarts', async () => {
    const before = await page.locator('[data-testid=gallery-count]').textContent();
    const idsBefore = await galleryIds();
    await serve.stop();
    serve = await startServe(dataDir, modelFolders);
    figures.push(`serve restart (renderer already built) ready after ${(serve.readyAfterMs / 1000).toFixed(1)} s`);
    await page.goto(serve.url);
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid=gallery-count]').textContent(), { timeout: 60_000 }).toBe(before);
    await expect.poll(galleryIds).toEqual(idsBefore);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=gallery-item] img')].every((img) => img.complete && img.naturalWidth > 0));
    await screenshot(page, '08-after-restart');
    expect(problems.filter((problem) => !problem.includes('WebSocket'))).toEqual([]);
  });

  it('finishes a run cut short by a killed serve, from one of its samples in the gallery', async () => {
    const galleryCount = async () => Number(/(\d+) images/.exec((await page.locator('[data-testid=gallery-count]').textContent()) ?? '')?.[1]);
    const before = await galleryCount();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await setField('Steps', String(Math.min(100, manifest.diffusion.steps)));
    await setField('Images', String(killedRunImages));
    await setField('Batch size', '1');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.locator('[data-testid=finished] figure').count(), { timeout: 120_000 }).toBeGreaterThan(0);
    await serve.kill();
    serve = await startServe(dataDir, modelFolders);
    await page.goto(serve.url);

    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(galleryCount, { timeout: 60_000 }).toBeGreaterThan(before);
    const kept = (await galleryCount()) - before;
    expect(kept).toBeLessThan(killedRunImages);
    await page.locator(`[data-testid=gallery-item][data-sample-id="${Math.max(...(await galleryIds()))}"]`).click();
    await expect.poll(() => page.locator('[data-testid=detail-settings]').textContent()).toMatch(/Run\s*#\d+ · interrupted/);
    await page.getByRole('button', { name: `Finish run (${killedRunImages - kept} left)` }).click();
    await waitForRunStatus('Done');
    await screenshot(page, '09-finished-after-kill');
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await expect.poll(galleryCount).toBe(before + killedRunImages);
    await page.locator(`[data-testid=gallery-item][data-sample-id="${Math.max(...(await galleryIds()))}"]`).click();
    await expect.poll(() => page.locator('[data-testid=detail-settings]').textContent()).toMatch(/Run\s*#\d+ · completed/);
    expect(await page.getByRole('button', { name: /Finish run/ }).count()).toBe(0);
  });

  it('refuses a connection without the token', async () => {
    const response = await fetch(`${serve.origin}/images/sample/1.png`);
    expect(response.status).toBe(403);
    const withoutToken = await page.evaluate(
      (origin) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(`${origin.replace('http', 'ws')}/studio`);
          socket.onopen = () => resolve('open');
          socket.onerror = () => resolve('refused');
        }),
      serve.origin,
    );
    expect(withoutToken).toBe('refused');
  });
});
