/**
 * An evaluation sharded over worker processes through a real redis-server (loopback, its own
 * port, a password) gives, figure for figure, what the single-machine evaluation gives for the
 * same seeds, and survives what a cluster meets: a worker killed mid-shard, Redis killed and
 * restarted, a worker holding other weights, and a wrong password.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationResult, EvaluationSpecInput } from '../../../common/contract/evaluation';
import { Queue } from 'bullmq';
import { shardQueueName } from '../../../electron/distributed/shard-contract';
import { startShardWorker } from '../../../electron/distributed/shard-worker';
import { startShardedEvaluation, type ShardedEvaluation, type ShardedEvaluationOptions, type ShardedEvaluationProgress } from '../../../electron/distributed/sharded-evaluation';
import { createEngine, type Engine } from '../../../electron/inference';
import { openStudio } from '../../../electron/service/open-studio';
import { localRedis, redisAvailable, REDIS_SERVER, type LocalRedis } from './local-redis';
import { spawnWorker, type WorkerProcess } from './worker-process';
import { EVALUATED_MODEL as MODEL, EVALUATION_MODELS as MODELS, quickEvaluationSpec as quickSpec } from '../metrics/evaluation-fixture';

const LOCK_MS = 1500;

/** Shards long enough (a second or so each) to be interrupted part-way. */
const slowSpec: EvaluationSpecInput = {
  modelId: 'evaluated-8px',
  classes: [0, 1, 2],
  scales: [2],
  mode: 'unconditional+classifier',
  sampler: 'ddpm',
  steps: '100',
  eta: 0,
  samplesPerScale: 300,
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of the model whose manifest names other UNet weights (sha256 ffff…) under the same id. */
function otherWeightsFolder(): string {
  const folder = join(tempDir('gds-other-'), 'evaluated-8px');
  cpSync(MODEL, folder, { recursive: true });
  const manifestFile = join(folder, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string> };
  manifest.files['unet.onnx'] = 'f'.repeat(64);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return folder;
}

async function redis(options: { persistent?: boolean } = {}): Promise<LocalRedis> {
  const server = await localRedis(options);
  cleanups.push(() => server.stop());
  return server;
}

function worker(server: LocalRedis, name: string, models = MODELS): WorkerProcess {
  const process = spawnWorker({ queueUrl: server.url, models, name, lockDurationMs: LOCK_MS });
  cleanups.push(() => process.kill('SIGKILL'));
  return process;
}

/** The coordinator's engine, which computes the figures from the merged features. */
let engine: Engine;

async function sharded(spec: EvaluationSpecInput, server: LocalRedis, options: Partial<ShardedEvaluationOptions> = {}): Promise<ShardedEvaluation> {
  const evaluation = await startShardedEvaluation(spec, { queueUrl: server.url, engine, modelDir: MODEL, batchSize: 16, shardSize: 4, pollIntervalMs: 100, ...options });
  cleanups.push(() => evaluation.cancel());
  return evaluation;
}

/** The first progress that satisfies `accept`, within `timeoutMs`. */
function progressWhere(evaluation: ShardedEvaluation, accept: (progress: ShardedEvaluationProgress) => boolean, timeoutMs = 20_000): Promise<ShardedEvaluationProgress> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`The evaluation's progress never matched within ${timeoutMs} ms; last: ${JSON.stringify(evaluation.view())}`));
    }, timeoutMs);
    const unsubscribe = evaluation.onProgress((progress) => {
      if (!accept(progress)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(progress);
    });
  });
}

/** The figures of the studio's own single-machine evaluation, opened as a studio process opens it. */
async function singleMachine(spec: EvaluationSpecInput): Promise<EvaluationResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gds-single-'));
  const studio = openStudio({ dataDir: dir, modelDirs: [MODEL], threads: 1, appVersion: 'test', evaluation: { provider: 'cpu', batchSize: 16 } });
  try {
    const record = await studio.evaluations.startEvaluation(spec);
    await studio.evaluations.whenIdle();
    const finished = studio.evaluations.getEvaluation(record.id);
    if (finished.status !== 'completed') throw new Error(`The single-machine evaluation ended ${finished.status}: ${finished.error}`);
    return finished.results;
  } finally {
    await studio.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const suiteName = redisAvailable
  ? 'sharded evaluation over Redis'
  : `sharded evaluation over Redis: skipped, it needs ${REDIS_SERVER} (apt-get install redis-server; .ci/run installs it)`;

describe.skipIf(!redisAvailable)(suiteName, () => {
  const reference = new Map<EvaluationSpecInput, EvaluationResult[]>();

  beforeAll(async () => {
    engine = createEngine({ modelFolders: [MODEL], threads: 1 });
    reference.set(quickSpec, await singleMachine(quickSpec));
    reference.set(slowSpec, await singleMachine(slowSpec));
  }, 120_000);

  it('two worker processes give the single-machine figures exactly, every seed once, and the images when asked', async () => {
    const server = await redis();
    const workers = [worker(server, 'alpha'), worker(server, 'beta')];
    await Promise.all(workers.map((process) => process.waitFor(/ready on/)));
    const evaluation = await sharded(quickSpec, server, { returnImages: true });
    const outcome = await evaluation.done;

    expect(outcome.results).toEqual(reference.get(quickSpec));
    // The images, asked for here, are the engine's own for those seeds (seed 5 has class classes[5 mod 2] = 2).
    const drawn = await engine.sample(
      { modelId: 'evaluated-8px', classIndex: 2, mode: quickSpec.mode, scale: 4, sampler: 'ddim', steps: 'ddim5', eta: 0, clipDenoised: true, seeds: [5], batchSize: 1, provider: 'cpu' },
      { previewEvery: 0 },
    );
    expect(evaluation.pixels(4, 5)).toEqual(drawn.samples[0]!.pixels);
    expect(evaluation.pixels(4, 12)).toBeNull();
    expect(outcome.duplicateSeeds).toBe(0);
    // 2 scales × 12 seeds in shards of 4.
    expect(outcome.shards).toHaveLength(6);
    expect(outcome.shards.every((shard) => shard.status === 'done' && shard.worker !== null)).toBe(true);
    expect(outcome.workers.reduce((sum, tally) => sum + tally.samples, 0)).toBe(24);
    for (const tally of outcome.workers) {
      expect(['alpha', 'beta']).toContain(tally.worker);
      expect(tally.samplesPerSecond).toBeGreaterThan(0);
    }

    // A job that is not a shard (anyone with the password can add one) fails with a sentence; the workers stay up.
    const queue = new Queue(shardQueueName('evaluated-8px'), { connection: { host: '127.0.0.1', port: server.port, password: server.password } });
    cleanups.push(() => queue.close());
    const bogus = await queue.add('shard', { seeds: 'all of them' }, { jobId: 'bogus', attempts: 1 });
    await Promise.race(workers.map((process) => process.waitFor(/shard bogus failed: .*/)));
    const deadline = Date.now() + 10_000;
    while ((await queue.getJobState(bogus.id!)) !== 'failed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const failed = await queue.getJob(bogus.id!);
    expect(await failed!.getState()).toBe('failed');
    expect(failed!.failedReason).toMatch(/^Job bogus is not a studio shard \(.+\); only the studio's coordinator should add jobs to this queue\.$/);
    expect(workers.every((process) => process.child.exitCode === null)).toBe(true);
  }, 60_000);

  it('a worker SIGKILLed mid-shard loses nothing: its shard is redone by another, no seed missing or doubled', async () => {
    const server = await redis();
    const evaluation = await sharded(slowSpec, server, { shardSize: 150 });
    const victim = worker(server, 'victim');
    const [, shardId] = await victim.waitFor(/shard (\S+): drawing/);
    await victim.kill('SIGKILL');
    expect(victim.output()).not.toContain(`shard ${shardId}: done`);
    const survivor = worker(server, 'survivor');
    const outcome = await evaluation.done;

    expect(survivor.output()).toContain(`shard ${shardId}: done`);
    expect(outcome.results).toEqual(reference.get(slowSpec));
    expect(outcome.duplicateSeeds).toBe(0);
    expect(outcome.workers.map((tally) => [tally.worker, tally.samples])).toEqual([['survivor', 300]]);
  }, 60_000);

  it('a worker sent SIGTERM mid-shard finishes that shard, then exits cleanly', async () => {
    const server = await redis();
    const evaluation = await sharded(slowSpec, server, { shardSize: 150 });
    const leaving = worker(server, 'leaving');
    const [, shardId] = await leaving.waitFor(/shard (\S+): drawing/);
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    expect(leaving.output()).toContain(`shard ${shardId}: done`);
    expect(leaving.output()).toMatch(/worker leaving stopped\n$/);
    worker(server, 'staying');
    const outcome = await evaluation.done;

    expect(outcome.results).toEqual(reference.get(slowSpec));
    expect(outcome.shards.find((shard) => shard.shardId === shardId)?.worker).toBe('leaving');
    expect(outcome.workers.map((tally) => [tally.worker, tally.samples]).sort()).toEqual([['leaving', 150], ['staying', 150]]);
  }, 60_000);

  it('redis-server SIGKILLed mid-evaluation and restarted on its folder: the evaluation completes with the same figures', async () => {
    const server = await redis({ persistent: true });
    const workers = [worker(server, 'alpha'), worker(server, 'beta')];
    await Promise.all(workers.map((process) => process.waitFor(/ready on/)));
    const evaluation = await sharded(slowSpec, server, { shardSize: 50 });
    const problems: string[] = [];
    evaluation.onProgress((progress) => {
      if (progress.queueProblem) problems.push(progress.queueProblem);
    });
    await Promise.race(workers.map((process) => process.waitFor(/shard \S+: done/)));
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.start();
    const outcome = await evaluation.done;

    expect(problems.length).toBeGreaterThan(0);
    expect(outcome.results).toEqual(reference.get(slowSpec));
    expect(outcome.workers.reduce((sum, tally) => sum + tally.samples, 0)).toBeGreaterThanOrEqual(300);
  }, 90_000);

  it('a worker holding other weights under the same model id refuses with a sentence, and another worker takes the shards', async () => {
    const server = await redis();
    const impostor = worker(server, 'impostor', otherWeightsFolder());
    await impostor.waitFor(/ready on/);
    const evaluation = await sharded(quickSpec, server);
    const [refusal] = await impostor.waitFor(/refused: .*/);
    expect(refusal).toMatch(/Worker impostor has model "evaluated-8px" with UNet sha256 ffffffffffff…, but shard \S+ was planned for e17cc30051a3…; it leaves the shard to a worker with the same weights/);
    const refused = await progressWhere(evaluation, (progress) => progress.shards.some((shard) => shard.status === 'retrying' && shard.error !== null));
    expect(refused.shards.find((shard) => shard.error !== null)!.error).toContain('with UNet sha256 ffffffffffff…');

    worker(server, 'holder');
    const outcome = await evaluation.done;
    expect(outcome.results).toEqual(reference.get(quickSpec));
    expect(outcome.workers.map((tally) => tally.worker)).toEqual(['holder']);
  }, 90_000);

  it('a worker whose weight file was changed refuses with the model folder\'s sentence, and another worker takes the shards', async () => {
    const server = await redis();
    const damaged = join(tempDir('gds-damaged-'), 'evaluated-8px');
    cpSync(MODEL, damaged, { recursive: true });
    appendFileSync(join(damaged, 'unet.onnx'), Buffer.from([0]));
    const refusals: string[] = [];
    const damagedEngine = createEngine({ modelFolders: [damaged], threads: 1 });
    cleanups.push(() => damagedEngine.close());
    const damagedWorker = await startShardWorker({ queueUrl: server.url, engine: damagedEngine, name: 'damaged', provider: 'cpu', lockDurationMs: LOCK_MS, onEvent: (event) => event.type === 'refused' && refusals.push(event.reason) });
    cleanups.push(() => damagedWorker.close());
    const evaluation = await sharded(quickSpec, server);
    await progressWhere(evaluation, (progress) => progress.shards.some((shard) => shard.error !== null));
    expect(refusals[0]).toMatch(/^The file unet\.onnx in .* is damaged or was changed: its sha256 is [0-9a-f]{64} but the manifest expects e17cc300.*\. Copy the model again\.$/);

    const holderEngine = createEngine({ modelFolders: [MODEL], threads: 1 });
    cleanups.push(() => holderEngine.close());
    const holder = await startShardWorker({ queueUrl: server.url, engine: holderEngine, name: 'holder', provider: 'cpu', lockDurationMs: LOCK_MS });
    cleanups.push(() => holder.close());
    const outcome = await evaluation.done;
    expect(outcome.results).toEqual(reference.get(quickSpec));
    expect(outcome.workers.map((tally) => tally.worker)).toEqual(['holder']);
  }, 60_000);

  it("a shard refused on every try fails the evaluation with the worker's refusal, and nothing of it is left waiting", async () => {
    const server = await redis();
    const impostor = worker(server, 'impostor', otherWeightsFolder());
    await impostor.waitFor(/ready on/);
    // One shard, so its second try comes right after the worker's pause that follows the first refusal.
    const evaluation = await sharded({ ...quickSpec, scales: [0] }, server, { attempts: 2, shardSize: 12 });
    await expect(evaluation.done).rejects.toThrow(/^Shard \S+ failed on all of its 2 tries; the last said: Worker impostor has model "evaluated-8px" with UNet sha256 ffffffffffff…/);
    expect(evaluation.view().phase).toBe('failed');
    const queue = new Queue(shardQueueName('evaluated-8px'), { connection: { host: '127.0.0.1', port: server.port, password: server.password } });
    cleanups.push(() => queue.close());
    expect(await queue.getJobCounts('waiting', 'delayed', 'prioritized')).toEqual({ waiting: 0, delayed: 0, prioritized: 0 });
  }, 60_000);

  it('a cancelled evaluation takes its shards off the queue and says it was cancelled', async () => {
    const server = await redis();
    const evaluation = await sharded(quickSpec, server);
    const queue = new Queue(shardQueueName('evaluated-8px'), { connection: { host: '127.0.0.1', port: server.port, password: server.password } });
    cleanups.push(() => queue.close());
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 6 });
    await evaluation.cancel();
    await expect(evaluation.done).rejects.toThrow(`Evaluation ${evaluation.evaluationId} was cancelled.`);
    expect(evaluation.view().phase).toBe('cancelled');
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
  }, 30_000);

  it('a wrong password is a sentence, for a worker (which exits) and for the coordinator', async () => {
    const server = await redis();
    const wrongUrl = server.url.replace(server.password, 'not-the-password');
    const intruder = spawnWorker({ queueUrl: wrongUrl, models: MODELS, name: 'intruder' });
    cleanups.push(() => intruder.kill('SIGKILL'));
    expect(await intruder.exited).toBe(1);
    expect(intruder.output()).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 refused the user name or password\. Check the password/);
    expect(intruder.output()).not.toContain('not-the-password');

    await expect(startShardedEvaluation(quickSpec, { queueUrl: wrongUrl, engine, modelDir: MODEL })).rejects.toThrow(/refused the user name or password/);
    const noPassword = server.url.replace(`:${server.password}@`, '');
    await expect(startShardedEvaluation(quickSpec, { queueUrl: noPassword, engine, modelDir: MODEL })).rejects.toThrow(/asks for a password\. Add it to the queue address/);
  }, 60_000);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await engine?.close();
});
