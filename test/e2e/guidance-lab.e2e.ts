/**
 * The guidance lab on the page, in Chromium through `serve`: choosing DDIM turns the model's plain
 * spacing into its "ddimN" twin, typing a plain spacing back shows the saturation sentence and keeps
 * Generate disabled, and a run with classifier-free guidance, an interval and DPM-Solver++ is drawn
 * and stored with those settings in the gallery file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordedRunRequest } from '../../common/contract/run-request';
import { preferredDdimSpacing } from '../../common/diffusion/guidance-safety';
import { ModelManifest } from '../../common/models/manifest';
import { e2eModelFolder } from './serve-process';
import { openStudioSession, type StudioSession } from './studio-session';

const modelFolder = e2eModelFolder();
const manifest = ModelManifest.parse(JSON.parse(readFileSync(path.join(modelFolder, 'manifest.json'), 'utf8')));
const T = manifest.diffusion.steps;
const plainSpacing = String(Math.min(50, T));
const fewSteps = T >= 250 ? 'ddim10' : 'ddim5';

let session: StudioSession;
let page: Page;

const field = (label: string) => page.getByLabel(label, { exact: true });
const generate = () => page.getByRole('button', { name: /^Generate/ });

beforeAll(async () => {
  session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-lab-', provider: /CPU|CUDA|WEBGPU|DML|COREML/ });
  ({ page } = session);
  await page.getByLabel('Record trajectories').uncheck();
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('the guidance lab in Chromium against serve', () => {
  it(`picks ${preferredDdimSpacing(plainSpacing)} when DDIM is chosen after a plain spacing`, async () => {
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddpm');
    await field('Steps').fill(plainSpacing);
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddim');
    expect(await field('Steps').inputValue()).toBe(`ddim${plainSpacing}`);
  });

  it('shows the saturation sentence as a plain spacing is typed with DDIM guidance, and keeps Generate disabled', async () => {
    await page.getByLabel('Mode', { exact: true }).selectOption('conditional+classifier');
    await field('Steps').fill(plainSpacing);
    const warning = page.locator('[data-testid=guidance-warning]');
    await expect.poll(() => warning.textContent()).toMatch(new RegExp(`^DDIM with plain respacing '${plainSpacing}' starts at t = ${T - 1} where ᾱ = .* saturates; use 'ddim${plainSpacing}'\\.$`));
    expect(await generate().isDisabled()).toBe(true);
    await field('Steps').fill(fewSteps);
    await expect.poll(() => warning.count()).toBe(0);
    expect(await generate().isDisabled()).toBe(false);
  });

  it('draws with classifier-free guidance, the classifier on an interval and DPM-Solver++, and stores those settings', async () => {
    await page.getByLabel('Mode', { exact: true }).selectOption('classifier-free+classifier');
    await page.getByLabel(/^Classifier-free weight w/).fill('3');
    await page.getByLabel('Scale over t', { exact: true }).selectOption('interval');
    await field('From t').fill(String(Math.floor(T / 5)));
    await field('To t').fill(String(Math.floor((4 * T) / 5)));
    await page.getByLabel('Sampler', { exact: true }).selectOption('dpmpp2m');
    await field('Steps').fill(fewSteps);
    await field('Images').fill('2');
    await field('Batch size').fill('2');
    await generate().click();
    await page.locator('[data-testid=run-status]', { hasText: 'Done' }).waitFor({ timeout: 240_000 });

    const gallery = new Database(path.join(session.dataDir, 'gallery.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const rows = gallery.prepare('SELECT request FROM runs ORDER BY id').all() as { request: string }[];
      const request = RecordedRunRequest.parse(JSON.parse(rows.at(-1)!.request));
      expect(request).toMatchObject({
        mode: 'classifier-free+classifier',
        cfgScale: 3,
        sampler: 'dpmpp2m',
        steps: fewSteps,
        guidanceSchedule: { kind: 'interval', tLo: Math.floor(T / 5), tHi: Math.floor((4 * T) / 5) },
      });
      const samples = gallery.prepare('SELECT COUNT(*) AS count FROM samples').get() as { count: number };
      expect(samples.count).toBe(2);
    } finally {
      gallery.close();
    }
    expect(session.problems).toEqual([]);
  });
});
