/**
 * "What the classifier sees" as a user meets it: `serve` on a fresh data folder, real Chromium,
 * the evaluated-8px model (a noisy classifier and a clean evaluator). A guided run with its
 * trajectory recorded; in the viewer the classifier is asked about the last step, the gradient
 * heatmap is laid over xₜ and then x̂₀ with its legend, the top-3 classes are listed, and the
 * evaluator's p(y | x̂₀) is drawn beside the classifier's p(y | xₜ).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './browser';
import { openStudioSession, setField, type StudioSession } from './studio-session';
import { repositoryRoot } from './serve-process';

const axePath = createRequire(import.meta.url).resolve('axe-core');
const modelFolder = path.join(repositoryRoot, 'test', 'fixtures', 'evaluation-models', 'evaluated-8px');

let session: StudioSession;
let page: Page;

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-classifier-view-' });
  ({ page } = session);
}, 300_000);

afterAll(async () => {
  await session?.close();
});

/** axe-core's serious and critical violations inside the trajectory dialog, by rule id and element. */
async function seriousFindings(): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') refuses an added script tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(axePath, 'utf8'));
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Element): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const { violations } = await axe.run(document.querySelector('[data-testid=trajectory]')!);
    return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${node.target.join(' ')}`));
  });
}

/** Whether an image element finished loading a real picture (not a broken link). */
async function loaded(locator: ReturnType<Page['locator']>): Promise<boolean> {
  return locator.evaluate((element) => element instanceof HTMLImageElement && element.complete && element.naturalWidth > 0);
}

describe('the classifier heatmap, top-3 and probability curves in Chromium against serve', () => {
  it('shows what the classifier and the evaluator see at each recorded step', async () => {
    await page.getByLabel('Seed', { exact: true }).selectOption('fixed');
    await setField(page, 'Base seed', '5');
    await setField(page, 'Images', '1');
    await page.getByLabel('Record trajectories').check();
    await page.getByRole('button', { name: /^Generate/ }).click();
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    const tile = page.locator('[data-testid=gallery-item]').first();
    await tile.waitFor({ timeout: 120_000 });
    await tile.click();
    await page.getByRole('button', { name: 'Trajectory' }).click();
    const viewer = page.locator('[data-testid=trajectory]');
    await expect.poll(() => viewer.textContent()).toMatch(/step (\d+) \/ \1/);

    // The last step's x₀ met no further guided step: the classifier has to be asked about it.
    await expect.poll(() => viewer.textContent()).toContain('No classifier pass on this xₜ yet.');
    await viewer.getByRole('button', { name: 'Ask the classifier' }).click();
    const top = viewer.getByRole('list', { name: "The classifier's three most probable classes for this xₜ" });
    await top.waitFor();
    expect(await top.getByRole('listitem').count()).toBe(3);
    expect(await top.textContent()).toMatch(/(circle|square|cross) 0\.\d{3}/);

    await viewer.getByLabel('over xₜ').check();
    const overlay = viewer.locator('[data-testid=heat-overlay]');
    await overlay.waitFor();
    await expect.poll(() => loaded(overlay)).toBe(true);
    expect(await overlay.getAttribute('alt')).toMatch(/heatmap over x_t/);
    const legend = viewer.locator('[data-testid=heat-legend]');
    expect(await legend.textContent()).toMatch(/Bright pixels are where the classifier's gradient/);
    // The arrow keys move through the radio group as everywhere else.
    await viewer.getByLabel('over xₜ').press('ArrowRight');
    expect(await viewer.getByLabel('over x̂₀').isChecked()).toBe(true);
    expect(await overlay.getAttribute('alt')).toMatch(/heatmap over predicted x_0/);

    await viewer.getByRole('button', { name: 'Ask the evaluator' }).click();
    await expect.poll(() => viewer.locator('[data-testid=evaluator-probability]').textContent()).toMatch(/^0\.\d{4}|^1\.0000/);
    const curves = viewer.locator('[data-testid=probability-curves]');
    expect(await curves.textContent()).toContain('classifier p(y | xₜ)');
    expect(await curves.textContent()).toContain('evaluator p(y | x̂₀)');
    expect(await curves.locator('canvas').count()).toBeGreaterThan(0);
    // Both questions are answered for every step, so neither is offered again.
    expect(await viewer.getByRole('button', { name: 'Ask the classifier' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Ask the evaluator' }).count()).toBe(0);
    expect(await seriousFindings()).toEqual([]);
    await screenshot(page, 'trajectory-classifier-view-01');
    expect(session.problems).toEqual([]);
  });
});
