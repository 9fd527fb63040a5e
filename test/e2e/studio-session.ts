/**
 * What most end-to-end files start from: `serve` on a fresh data folder, Debian Chromium on the
 * studio page, and the page's inference provider shown, so the models are open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openStudioPage } from './browser';
import { startServe, type RunningServe } from './serve-process';

export interface StudioSessionOptions {
  models: string | string[];
  /** Start of the temporary data folder's name, so a leftover one says which file made it. */
  prefix: string;
  extraArgs?: readonly string[];
  /** 0 picks a free port. */
  port?: number;
  /** The provider badge to wait for; the CPU by default, as the fixture models run there. */
  provider?: string | RegExp;
}

export interface StudioSession {
  dataDir: string;
  serve: RunningServe;
  browser: Browser;
  page: Page;
  /** Console errors, page errors and CSP violations the page has met so far. */
  problems: string[];
  /** Closes the browser, stops serve and removes the data folder. */
  close(): Promise<void>;
}

export async function openStudioSession(options: StudioSessionOptions): Promise<StudioSession> {
  const dataDir = mkdtempSync(path.join(tmpdir(), options.prefix));
  let serve: RunningServe | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await serve?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    serve = await startServe(dataDir, options.models, 180_000, options.port ?? 0, options.extraArgs ?? []);
    browser = await launchChromium();
    const { page, problems } = await openStudioPage(browser, serve.url);
    await page.locator('[data-testid=provider]', { hasText: options.provider ?? 'CPU' }).waitFor({ timeout: 120_000 });
    return { dataDir, serve, browser, page, problems, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Types `value` into the field labelled `label` and commits it, as leaving the field does. */
export async function setField(page: Page, label: string, value: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(value);
  await field.dispatchEvent('change');
}
