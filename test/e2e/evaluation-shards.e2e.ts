/**
 * The shard table as a researcher watches it: `serve --queue` against a real redis-server, one
 * worker process with the model, real Chromium. An evaluation started from the page is drawn by
 * the worker, and the page shows its shards, which worker drew them and how fast.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRedis, redisAvailable, REDIS_SERVER, type LocalRedis } from '../electron/distributed/local-redis';
import { spawnWorker, type WorkerProcess } from '../electron/distributed/worker-process';
import { screenshot } from './browser';
import { repositoryRoot } from './serve-process';
import { openStudioSession, type StudioSession } from './studio-session';

const models = path.join(repositoryRoot, 'test', 'fixtures', 'evaluation-models');
const modelFolder = path.join(models, 'evaluated-8px');

let redis: LocalRedis;
let worker: WorkerProcess;
let session: StudioSession;
let page: Page;

const cellsOf = (testId: string) =>
  page.locator(`[data-testid=${testId}] tbody tr`).evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent?.trim() ?? '')));

const suiteName = redisAvailable ? 'shard table in Chromium against serve --queue' : `shard table in Chromium: skipped, it needs ${REDIS_SERVER}`;

describe.skipIf(!redisAvailable)(suiteName, () => {
  beforeAll(async () => {
    redis = await localRedis();
    worker = spawnWorker({ queueUrl: redis.url, models, name: 'e2e-worker', lockDurationMs: 1500 });
    session = await openStudioSession({ models: modelFolder, prefix: 'gds-e2e-shards-', extraArgs: ['--queue', redis.url] });
    ({ page } = session);
    await page.getByRole('button', { name: 'Evaluation', exact: true }).click();
  }, 300_000);

  afterAll(async () => {
    await session?.close();
    worker?.kill('SIGKILL');
    await redis?.stop();
  });

  it('shows the shard the worker drew, with the worker and its samples per second', async () => {
    await page.getByLabel('Scales', { exact: true }).fill('0');
    await page.getByLabel('Samples per scale', { exact: true }).fill('12');
    await page.locator('[data-testid=evaluation-start]').click();
    await page.locator('[data-testid=evaluation-status]', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    await page.locator('[data-testid=evaluation-shard-table]').waitFor();
    const shards = await cellsOf('evaluation-shard-table');
    expect(shards).toHaveLength(1);
    expect(shards[0]!.slice(1, 6)).toEqual(['0.0', '0…11', 'done', 'e2e-worker', '12/12']);
    expect(shards[0]![6]).toMatch(/^\d+\.\d\/s$/);
    const workers = await cellsOf('evaluation-workers');
    expect(workers.map((row) => row.slice(0, 3))).toEqual([['e2e-worker', '1', '12']]);
    expect((await cellsOf('evaluation-table')).map((row) => row.slice(0, 2))).toEqual([['0.0', '12']]);
    await screenshot(page, 'evaluation-shards-01-completed');
  }, 300_000);
});
