/**
 * A classifier-free evaluation on a schedule, sharded through a real redis-server to a worker
 * process, draws the same images and gives, figure for figure and provenance included, what the
 * studio's single-machine evaluation gives: the weight w and the schedule reach the worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationResult, EvaluationSpecInput } from '../../../common/contract/evaluation';
import type { RunRequest } from '../../../common/contract/run-request';
import { startShardedEvaluation } from '../../../electron/distributed/sharded-evaluation';
import { createEngine, type Engine } from '../../../electron/inference';
import { openStudio, type Studio } from '../../../electron/service/open-studio';
import { EVALUATED_MODEL as MODEL, EVALUATION_MODELS as MODELS, quickEvaluationSpec } from '../metrics/evaluation-fixture';
import { localRedis, redisAvailable, REDIS_SERVER, type LocalRedis } from './local-redis';
import { spawnWorker, type WorkerProcess } from './worker-process';

const guidedSpec: EvaluationSpecInput = {
  ...quickEvaluationSpec,
  mode: 'classifier-free+classifier',
  cfgScale: 3,
  guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function studioOn(queueUrl?: string): Studio {
  const dir = mkdtempSync(join(tmpdir(), 'gds-sharded-guidance-'));
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

async function evaluated(studio: Studio, spec: EvaluationSpecInput): Promise<EvaluationResult[]> {
  const record = await studio.evaluations.startEvaluation(spec);
  await studio.evaluations.whenIdle();
  const finished = studio.evaluations.getEvaluation(record.id);
  if (finished.status !== 'completed') throw new Error(`The evaluation ended ${finished.status}: ${finished.error}`);
  return finished.results;
}

const suiteName = redisAvailable
  ? 'a classifier-free evaluation on a schedule, sharded over Redis'
  : `a classifier-free evaluation on a schedule, sharded over Redis: skipped, it needs ${REDIS_SERVER} (apt-get install redis-server)`;

describe.skipIf(!redisAvailable)(suiteName, () => {
  let server: LocalRedis;
  let worker: WorkerProcess;
  let engine: Engine;

  beforeAll(async () => {
    server = await localRedis();
    cleanups.push(() => server.stop());
    worker = spawnWorker({ queueUrl: server.url, models: MODELS, name: 'cfg-box', lockDurationMs: 1500 });
    cleanups.push(() => worker.kill('SIGKILL'));
    engine = createEngine({ modelFolders: [MODEL], threads: 1 });
    cleanups.push(() => engine.close());
    await worker.waitFor(/ready on/, 60_000);
  }, 90_000);

  it('stores the single-machine figures exactly, with w and the schedule in their provenance', async () => {
    const sharded = await evaluated(studioOn(server.url), guidedSpec);
    const single = await evaluated(studioOn(), guidedSpec);
    expect(sharded).toEqual(single);
    for (const result of sharded) expect(result.provenance).toMatchObject({ mode: 'classifier-free+classifier', cfgScale: 3, guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 } });
    expect(worker.output()).toMatch(/shard studio-\d+-[0-9a-f]+-scale1-seeds4: done/);
  }, 120_000);

  it('has the worker draw the pixels the engine draws with that w and schedule, not those of the default w', async () => {
    const evaluation = await startShardedEvaluation(guidedSpec, { queueUrl: server.url, engine, modelDir: MODEL, batchSize: 16, shardSize: 6, pollIntervalMs: 100, returnImages: true });
    cleanups.push(() => evaluation.cancel());
    await evaluation.done;
    // Seed 5 has class classes[5 mod 2] = 2.
    const request: RunRequest = {
      modelId: 'evaluated-8px',
      classIndex: 2,
      mode: 'classifier-free+classifier',
      cfgScale: 3,
      guidanceSchedule: { kind: 'interval', tLo: 20, tHi: 70 },
      scale: 4,
      sampler: 'ddim',
      steps: 'ddim5',
      eta: 0,
      clipDenoised: true,
      seeds: [5],
      batchSize: 1,
      provider: 'cpu',
    };
    const local = await engine.sample(request, { previewEvery: 0 });
    const { cfgScale: _given, ...defaultWeight } = request;
    const atDefaultWeight = await engine.sample(defaultWeight, { previewEvery: 0 });
    const constant = await engine.sample({ ...request, guidanceSchedule: { kind: 'constant' } }, { previewEvery: 0 });
    expect(evaluation.pixels(4, 5)).toEqual(local.samples[0]!.pixels);
    expect(evaluation.pixels(4, 5)).not.toEqual(atDefaultWeight.samples[0]!.pixels);
    expect(evaluation.pixels(4, 5)).not.toEqual(constant.samples[0]!.pixels);
  }, 120_000);
});
