/**
 * Throughput of a sharded evaluation with one, two and three local worker processes on the
 * built-in model (one redis-server on loopback, started here). Prints one JSON line per worker
 * count: samples per second from submitting the shards to the last result (drawing and the
 * evaluator's features; the final scoring is timed apart). Nothing is asserted.
 *
 *   npm run bench:distributed [-- --samples 256 --steps ddim25 --workers 1,2,3 --threads 1]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { EvaluationSpecInput } from '../common/contract/evaluation';
import { startShardedEvaluation } from '../electron/distributed/sharded-evaluation';
import { createEngine } from '../electron/inference';
import { readManifest } from '../electron/inference/model-folder';
import { localRedis, redisAvailable, REDIS_SERVER } from '../test/electron/distributed/local-redis';
import { spawnWorker, type WorkerProcess } from '../test/electron/distributed/worker-process';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join('models', 'fashion-mnist') },
    samples: { type: 'string', default: '256' },
    steps: { type: 'string', default: 'ddim25' },
    scale: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1,2,3' },
    threads: { type: 'string', default: '1' },
    shard: { type: 'string', default: '32' },
    batch: { type: 'string', default: '16' },
  },
});

if (!redisAvailable) {
  process.stderr.write(`The bench needs ${REDIS_SERVER} (apt-get install redis-server).\n`);
  process.exit(1);
}

const manifest = await readManifest(args.model);
const spec: EvaluationSpecInput = {
  modelId: manifest.id,
  classes: Array.from({ length: manifest.classes.count }, (_, index) => index),
  scales: [Number(args.scale)],
  mode: manifest.defaults.mode,
  sampler: 'ddim',
  steps: args.steps,
  eta: 0,
  samplesPerScale: Number(args.samples),
};
const threads = Number(args.threads);
const redis = await localRedis();
const engine = createEngine({ modelFolders: [args.model], threads });
let workers: WorkerProcess[] = [];
try {
  for (const count of args.workers.split(',').map(Number)) {
    workers = Array.from({ length: count }, (_, index) => spawnWorker({ queueUrl: redis.url, models: args.model, name: `bench-${index + 1}`, threads }));
    await Promise.all(workers.map((worker) => worker.waitFor(/ready on/, 60_000)));
    const started = performance.now();
    let drawnAt = 0;
    const evaluation = await startShardedEvaluation(spec, { queueUrl: redis.url, engine, modelDir: args.model, shardSize: Number(args.shard), batchSize: Number(args.batch) });
    evaluation.onProgress((progress) => {
      if (progress.phase === 'scoring' && drawnAt === 0) drawnAt = performance.now();
    });
    const outcome = await evaluation.done;
    const ended = performance.now();
    const seconds = (drawnAt - started) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'distributed-evaluation',
        model: manifest.id,
        steps: spec.steps,
        workers: count,
        threadsPerWorker: threads,
        samples: spec.samplesPerScale,
        shards: outcome.shards.length,
        seconds: Number(seconds.toFixed(3)),
        samplesPerSecond: Number((spec.samplesPerScale / seconds).toFixed(2)),
        scoringSeconds: Number(((ended - drawnAt) / 1000).toFixed(3)),
        perWorker: outcome.workers.map((tally) => ({ worker: tally.worker, shards: tally.shards, samplesPerSecond: Number(tally.samplesPerSecond.toFixed(2)) })),
        fid: outcome.results[0]!.fid,
      })}\n`,
    );
    await Promise.all(workers.map((worker) => worker.kill('SIGTERM')));
    workers = [];
  }
} finally {
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
  await engine.close();
  await redis.stop();
}
