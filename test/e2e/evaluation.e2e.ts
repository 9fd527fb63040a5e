/**
 * The evaluation page as a researcher uses it: `serve` with a small model that has an evaluator,
 * real Chromium. Start a guidance-scale sweep, watch it finish, read the curves and the table,
 * export the CSV, and find the same figures after a restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openStudioPage, screenshot } from './browser';
import { repositoryRoot, startServe, type RunningServe } from './serve-process';

const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'evaluation-models', 'evaluated-8px');

let dataDir: string;
let serve: RunningServe;
let browser: Browser;
let page: Page;
let problems: string[];

async function openEvaluationPage(): Promise<void> {
  ({ page, problems } = await openStudioPage(browser, serve.url));
  await page.locator('[data-testid=provider]', { hasText: 'CPU' }).waitFor({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Evaluation', exact: true }).click();
}

async function tableRows(): Promise<string[][]> {
  return page.locator('[data-testid=evaluation-table] tbody tr').evaluateAll((rows) =>
    rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent?.trim() ?? '')),
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-e2e-evaluation-'));
  serve = await startServe(dataDir, modelFolder);
  browser = await launchChromium();
  await openEvaluationPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('evaluation page in Chromium against serve', () => {
  let table: string[][];

  it('runs a two-scale evaluation to the end', async () => {
    await page.getByLabel('Scales', { exact: true }).fill('0, 4');
    await page.getByLabel('Samples per scale', { exact: true }).fill('12');
    await page.locator('[data-testid=evaluation-start]').click();
    await page.locator('[data-testid=evaluation-status]', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    table = await tableRows();
    expect(table.map((row) => row.slice(0, 2))).toEqual([
      ['0.0', '12'],
      ['4.0', '12'],
    ]);
    for (const row of table) {
      const [fid, sfid, inceptionCell, precision, recall, density, coverage, accuracy] = row.slice(2);
      expect(Number(fid)).toBeGreaterThan(0);
      // The test model's evaluator has no spatial output.
      expect(sfid).toBe('—');
      // The Inception Score with its splits beside it, as the reference evaluator takes 12 samples.
      expect(inceptionCell).toMatch(/^\d+\.\d{3}\s+\(1 split of 12\)$/);
      expect(Number(inceptionCell!.split(/\s/)[0])).toBeGreaterThanOrEqual(1);
      expect(Number(density)).toBeGreaterThanOrEqual(0);
      for (const fraction of [precision, recall, coverage, accuracy].map(Number)) {
        expect(fraction).toBeGreaterThanOrEqual(0);
        expect(fraction).toBeLessThanOrEqual(1);
      }
    }
    // 12 samples against the test model's 200 reference images: the page warns that FID is biased.
    await expect(page.locator('[data-testid=evaluation-sample-warning]').textContent()).resolves.toMatch(
      /FID at 12 samples is biased upward against a reference of 200/,
    );
    await screenshot(page, 'evaluation-01-completed');
  });

  it('draws FID and IS against scale and precision against recall, in the colour of each plot', async () => {
    const plots = [
      ['FID against guidance scale', [0x7c, 0x8c, 0xff]],
      ['Inception Score against guidance scale', [0x4f, 0xd1, 0x8b]],
      ['Precision against recall', [0xf5, 0xb1, 0x4c]],
    ] as const;
    for (const [title, colour] of plots) {
      const canvas = page.locator('figure', { hasText: title }).locator('.uplot canvas');
      await canvas.waitFor();
      // Pixels of the series colour: the points (and the curve) are really drawn.
      const drawn = await canvas.evaluate((element, rgb) => {
        const canvasElement = element as HTMLCanvasElement;
        const { data } = canvasElement.getContext('2d')!.getImageData(0, 0, canvasElement.width, canvasElement.height);
        let count = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs(data[i]! - rgb[0]) < 8 && Math.abs(data[i + 1]! - rgb[1]) < 8 && Math.abs(data[i + 2]! - rgb[2]) < 8) count++;
        }
        return count;
      }, colour);
      expect(drawn, title).toBeGreaterThan(40);
    }
  });

  it('exports the table as CSV with the same figures', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=evaluation-csv]').click()]);
    expect(download.suggestedFilename()).toMatch(/^evaluation-1-evaluated-8px-ddim-ddim10\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r\n/);
    expect(lines[0]).toBe(
      'scale,samples,fid,sfid,inception_score,inception_split_sizes,precision,recall,density,coverage,class_accuracy,first_seed,last_seed,mode,cfg_scale,guidance_schedule,evaluator_sha256,reference_sha256',
    );
    const cells = lines.slice(1).map((line) => line.split(','));
    // The page's default mode calls the classifier with a constant scale and no classifier-free weight.
    for (const row of cells) expect(row.slice(13, 16)).toEqual(['unconditional+classifier', '', 'constant']);
    const csv = cells.map((row) => row.map(Number));
    expect(csv).toHaveLength(2);
    csv.forEach((values, index) => {
      const shown = table[index]!;
      expect(values[0]).toBe(Number(shown[0]));
      expect(values[2]!.toFixed(3)).toBe(shown[2]);
      expect(values[6]!.toFixed(4)).toBe(shown[5]);
      // Seeds 0 to 11, as every evaluation without a seed offset draws them.
      expect([values[11], values[12]]).toEqual([0, 11]);
    });
  });

  it('shows the stored results after serve restarts', async () => {
    await page.close();
    await serve.stop();
    serve = await startServe(dataDir, modelFolder);
    await openEvaluationPage();
    await page.locator('[data-testid=evaluation-status]', { hasText: 'completed' }).waitFor();
    expect(await tableRows()).toEqual(table);
    expect(problems.filter((problem) => !problem.includes('WebSocket'))).toEqual([]);
  });
});
