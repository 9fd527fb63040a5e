import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EvaluationShards, type EvaluationRecord, type EvaluationResult, type EvaluationSpecInput } from '../../../common/contract/evaluation';
import { openStudio, type Studio } from '../../../electron/service/open-studio';
import { invokeOperation } from '../../../electron/service/invoke';
import { localRedis, redisAvailable, REDIS_SERVER, type LocalRedis } from './local-redis';
import { spawnWorker } from './worker-process';
import { EVALUATED_MODEL as MODEL, EVALUATION_MODELS as MODELS, quickEvaluationSpec as spec } from '../metrics/evaluation-fixture';

const REPOSITORY = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);

/** 300 samples of 100 DDPM steps in shards of 50: each shard takes long enough to stop between them. */
const slowSpec: EvaluationSpecInput = { ...spec, classes: [0, 1, 2], scales: [2], sampler: 'ddpm', steps: '100', samplesPerScale: 300 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function studioOn(queueUrl?: string): Studio {
  const dir = mkdtempSync(join(tmpdir(), 'gds-studio-queue-'));
  const studio = openStudio({
    dataDir: dir,
    modelDirs: [MODEL],
    threads: 1,
    appVersion: 'test',
    evaluation: { provider: 'cpu', batchSize: 16, ...(queueUrl ? { queueUrl, shardSize: 4, shardPollIntervalMs: 100 } : {}) },
  });
  cleanups.push(async () => {
    await studio.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return studio;
}

async function evaluated(studio: Studio): Promise<{ id: number; results: EvaluationResult[]; status: string; error: string | null }> {
  const record = await studio.evaluations.startEvaluation(spec);
  await studio.evaluations.whenIdle();
  return studio.evaluations.getEvaluation(record.id);
}

const suiteName = redisAvailable ? 'evaluations through a queue' : `evaluations through a queue: skipped, it needs ${REDIS_SERVER}`;

describe.skipIf(!redisAvailable)(suiteName, () => {
  async function redis(): Promise<LocalRedis> {
    const server = await localRedis();
    cleanups.push(() => server.stop());
    return server;
  }

  it('a studio with a queue address has workers draw the evaluation and stores the single-machine figures, with the shard view', async () => {
    const server = await redis();
    const worker = spawnWorker({ queueUrl: server.url, models: MODELS, name: 'box-a', lockDurationMs: 1500 });
    cleanups.push(() => worker.kill('SIGKILL'));

    const studio = studioOn(server.url);
    const sharded = await evaluated(studio);
    expect(sharded.status, sharded.error ?? '').toBe('completed');
    const single = await evaluated(studioOn());
    expect(sharded.results).toEqual(single.results);

    // The page reads the same view through its channel, validated against the contract.
    const shards = EvaluationShards.parse(await invokeOperation(studio, 'evaluation:shards', { evaluationId: sharded.id }));
    expect(await invokeOperation(studio, 'evaluation:shards', { evaluationId: sharded.id + 1 })).toBeNull();
    expect(shards.phase).toBe('completed');
    // 12 seeds per scale in shards of 4: three per scale, all drawn by the one worker.
    expect(shards.shards.map((shard) => [shard.scale, shard.firstSeed, shard.status, shard.worker])).toEqual([
      [0, 0, 'done', 'box-a'], [0, 4, 'done', 'box-a'], [0, 8, 'done', 'box-a'],
      [4, 0, 'done', 'box-a'], [4, 4, 'done', 'box-a'], [4, 8, 'done', 'box-a'],
    ]);
    expect(shards.workers).toHaveLength(1);
    expect(shards.workers[0]).toMatchObject({ worker: 'box-a', shards: 6, samples: 24 });
    expect(shards.workers[0]!.samplesPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('a coordinator stopped mid-way and opened again puts only the shards it lacks on the queue, with the same figures', async () => {
    const server = await redis();
    const first = spawnWorker({ queueUrl: server.url, models: MODELS, name: 'first', lockDurationMs: 1500 });
    cleanups.push(() => first.kill('SIGKILL'));
    const dir = mkdtempSync(join(tmpdir(), 'gds-studio-restart-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const evaluation = { provider: 'cpu' as const, batchSize: 16, queueUrl: server.url, shardSize: 50, shardPollIntervalMs: 100 };
    const before = openStudio({ dataDir: dir, modelDirs: [MODEL], threads: 1, appVersion: 'test', evaluation });
    // Stopped once a shard or two of the six are in, as a closed or crashed studio would be.
    before.evaluations.onEvaluationEvent((event) => {
      if (event.type === 'progress' && event.doneSamples >= 60) before.evaluations.cancelEvaluation(event.evaluationId);
    });
    const { id } = await before.evaluations.startEvaluation(slowSpec);
    await before.evaluations.whenIdle();
    expect(before.evaluations.getEvaluation(id).status).toBe('cancelled');
    const kept = before.gallery.evaluations.shards(id).length;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect(kept).toBeLessThan(6);
    await before.close();
    first.kill('SIGKILL');

    const second = spawnWorker({ queueUrl: server.url, models: MODELS, name: 'second', lockDurationMs: 1500 });
    cleanups.push(() => second.kill('SIGKILL'));
    const after = openStudio({ dataDir: dir, modelDirs: [MODEL], threads: 1, appVersion: 'test', evaluation });
    cleanups.push(() => after.close());
    await after.evaluations.resumeEvaluation(id);
    await after.evaluations.whenIdle();
    const finished = after.evaluations.getEvaluation(id);
    expect(finished.status, finished.error ?? '').toBe('completed');
    const view = after.evaluations.viewShards(id)!;
    // Only the shards not kept were drawn again; the kept ones keep the worker that drew them.
    expect(view.workers).toEqual([expect.objectContaining({ worker: 'second', shards: 6 - kept })]);
    expect(view.shards.filter((shard) => shard.worker === 'first')).toHaveLength(kept);
    expect(after.gallery.evaluations.shards(id)).toHaveLength(6);
    const single = studioOn();
    const singleRecord = await single.evaluations.startEvaluation(slowSpec);
    await single.evaluations.whenIdle();
    expect(finished.results).toEqual(single.evaluations.getEvaluation(singleRecord.id).results);
  }, 180_000);

  it('npm run cli -- evaluate --queue has a worker draw the evaluation and prints the figures', async () => {
    const server = await redis();
    const worker = spawnWorker({ queueUrl: server.url, models: MODELS, name: 'box-b', lockDurationMs: 1500 });
    cleanups.push(() => worker.kill('SIGKILL'));
    const dir = mkdtempSync(join(tmpdir(), 'gds-cli-queue-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { stdout } = await run('npx', [
      'tsx', 'electron/cli/main.ts', 'evaluate', '--model', MODEL, '--classes', '0,2', '--scales', '0', '--samples', '8',
      '--steps', 'ddim5', '--data', dir, '--provider', 'cpu', '--threads', '1', '--queue', server.url, '--json', '--no-progress',
    ], { cwd: REPOSITORY, timeout: 120_000 });
    const record = JSON.parse(stdout) as EvaluationRecord;
    expect(record.status, record.error ?? '').toBe('completed');
    expect(record.results.map((result) => [result.scale, result.sampleCount, result.inceptionSplitSizes])).toEqual([[0, 8, [8]]]);
  }, 120_000);

  it('an address with no Redis behind it fails the evaluation with a sentence, and the studio stays up', async () => {
    const server = await redis();
    const address = server.url;
    await server.stop();
    const studio = studioOn(address);
    const outcome = await evaluated(studio);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/Redis/);
    expect(studio.evaluations.listEvaluations()).toHaveLength(1);
  }, 60_000);
});
