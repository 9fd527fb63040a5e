/**
 * A studio process serving evaluation shards from the queue: it pulls a shard (so a faster
 * machine takes more of them), checks that it holds the very model the shard names (its id and
 * UNet sha256), draws and evaluates the seeds, and returns the features and logits. A shard it
 * cannot serve fails with a sentence and goes back to the queue for another worker; a worker
 * that dies mid-shard loses its lock, and BullMQ's stalled-job check hands the shard on.
 */
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { ProviderName } from '../../common/contract/run-request';
import { describeProblems } from '../../common/contract/bounds';
import { modelSha256 } from '../../common/models/model-identity';
import type { Engine } from '../inference';
import type { EvaluatorNetwork } from '../inference/evaluator-network';
import { float32ToBase64 } from './float32-base64';
import { openQueueConnection, queueAddress, type QueueTlsFiles } from './queue-connection';
import { drawShard } from './shard-drawing';
import { shardQueueName, ShardJob, type ShardProgress, type ShardResult } from './shard-contract';

export const DEFAULT_LOCK_DURATION_MS = 30_000;
/** How long a worker that refused a shard leaves that model's queue to the others. */
export const REFUSAL_PAUSE_MS = 5_000;

export interface ShardWorkerOptions {
  queueUrl: string;
  tls?: QueueTlsFiles;
  engine: Engine;
  /** Shown in the coordinator's shard view; hostname:pid by default. */
  name?: string;
  provider?: ProviderName;
  /**
   * How long a shard stays locked without a heartbeat before another worker may take it. The
   * lock is renewed at half this while the worker lives, so only a dead or frozen worker loses it.
   */
  lockDurationMs?: number;
  onEvent?(event: ShardWorkerEvent): void;
}

export type ShardWorkerEvent =
  | { type: 'started'; shardId: string; samples: number }
  | { type: 'completed'; shardId: string; samples: number; seconds: number }
  | { type: 'refused'; shardId: string; reason: string }
  | { type: 'failed'; shardId: string; reason: string }
  | { type: 'queueError'; message: string };

export interface ShardWorker {
  readonly name: string;
  /** The model ids whose queues it serves. */
  readonly modelIds: readonly string[];
  /** Finishes the shard in hand (or, with `force`, lets its lock lapse so another worker redoes it), then disconnects. */
  close(force?: boolean): Promise<void>;
}

export function defaultWorkerName(): string {
  return `${hostname()}:${process.pid}`;
}

/** Opens the queue (a wrong password or address is a sentence here) and starts taking shards. */
export async function startShardWorker(options: ShardWorkerOptions): Promise<ShardWorker> {
  const name = options.name ?? defaultWorkerName();
  const address = queueAddress(options.queueUrl, options.tls);
  const connection = await openQueueConnection(address);
  const provider = options.provider ?? 'auto';
  const lockDuration = options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
  const evaluators = new Map<string, Promise<EvaluatorNetwork>>();
  const emit = (event: ShardWorkerEvent) => options.onEvent?.(event);

  /** The model folder of the shard's model, if this worker holds the same weights. */
  async function modelDirFor(job: ShardJob): Promise<string> {
    const models = await options.engine.listModels();
    const model = models.find((candidate) => candidate.id === job.modelId);
    if (!model) {
      const held = models.map((candidate) => `"${candidate.id}"`).join(', ') || 'none';
      throw new Error(`Worker ${name} has no model "${job.modelId}" (it holds ${held}); it leaves shard ${job.shardId} to a worker that has the model. Copy the model folder into this worker's --models folder to let it help.`);
    }
    const held = modelSha256(model.manifest);
    if (held !== job.modelSha256) {
      throw new Error(`Worker ${name} has model "${job.modelId}" with UNet sha256 ${held.slice(0, 12)}…, but shard ${job.shardId} was planned for ${job.modelSha256.slice(0, 12)}…; it leaves the shard to a worker with the same weights. Install the coordinator's copy of the model folder here.`);
    }
    return model.dir;
  }

  function evaluatorFor(dir: string, modelId: string): Promise<EvaluatorNetwork> {
    let evaluator = evaluators.get(dir);
    if (!evaluator) {
      evaluator = options.engine.loadModel(modelId, provider).then(() => options.engine.openEvaluator(dir, { provider }));
      evaluator.catch(() => evaluators.delete(dir));
      evaluators.set(dir, evaluator);
    }
    return evaluator;
  }

  async function serve(job: Job<unknown, ShardResult>, _token?: string, signal?: AbortSignal): Promise<ShardResult> {
    const parsed = ShardJob.safeParse(job.data);
    if (!parsed.success) {
      const reason = `Job ${job.id ?? '?'} is not a studio shard (${describeProblems(parsed.error)}); only the studio's coordinator should add jobs to this queue.`;
      emit({ type: 'failed', shardId: job.id ?? '?', reason });
      throw new Error(reason);
    }
    const shard = parsed.data;
    let evaluator: EvaluatorNetwork;
    try {
      // Loading verifies every file of the folder against its sha256, so damaged weights are refused here too.
      evaluator = await evaluatorFor(await modelDirFor(shard), shard.modelId);
    } catch (error) {
      emit({ type: 'refused', shardId: shard.shardId, reason: (error as Error).message });
      await stepBack(shard.modelId);
      throw error;
    }
    const started = performance.now();
    emit({ type: 'started', shardId: shard.shardId, samples: shard.seeds.length });
    const report = (doneSamples: number): void => {
      const progress: ShardProgress = { worker: name, doneSamples, totalSamples: shard.seeds.length };
      // Progress is advisory: a lost update (Redis restarting) must not fail the shard.
      job.updateProgress(progress).catch(() => undefined);
    };
    report(0);
    try {
      const drawn = await drawShard(options.engine, evaluator, shard, { provider, ...(signal ? { signal } : {}), onSample: report });
      const seconds = (performance.now() - started) / 1000;
      emit({ type: 'completed', shardId: shard.shardId, samples: shard.seeds.length, seconds });
      return {
        shardId: shard.shardId,
        worker: name,
        seeds: shard.seeds,
        ...(shard.cfgScale === undefined ? {} : { cfgScale: shard.cfgScale }),
        ...(shard.guidanceSchedule === undefined ? {} : { guidanceSchedule: shard.guidanceSchedule }),
        features: float32ToBase64(drawn.features.data),
        featureDimension: drawn.features.dimension,
        logits: float32ToBase64(drawn.logits.data),
        logitDimension: drawn.logits.dimension,
        pixels: drawn.pixels ? Buffer.from(drawn.pixels).toString('base64') : null,
        seconds,
      };
    } catch (error) {
      emit({ type: 'failed', shardId: shard.shardId, reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  const held = [...new Set((await options.engine.listModels()).map((model) => model.id))];
  if (held.length === 0) {
    connection.disconnect();
    throw new Error('This worker holds no model, so it could serve no shard. Give --models the folder holding the model folders (each with a manifest.json).');
  }
  const workerOf = new Map<string, Worker<unknown, ShardResult>>();
  const resumeTimers = new Set<NodeJS.Timeout>();
  let closed = false;
  /**
   * After a refusal this worker takes nothing from that model's queue for a while: BullMQ would
   * otherwise hand it the next waiting shard at once, and it would refuse every shard in turn
   * while the workers that hold the model are busy.
   */
  async function stepBack(modelId: string): Promise<void> {
    const worker = workerOf.get(modelId);
    if (!worker || closed) return;
    await worker.pause(true);
    const timer = setTimeout(() => {
      resumeTimers.delete(timer);
      if (!closed) worker.resume();
    }, REFUSAL_PAUSE_MS);
    resumeTimers.add(timer);
  }

  const workers = held.map((modelId) => {
    const worker = new Worker<unknown, ShardResult>(shardQueueName(modelId), serve, {
      connection,
      name,
      concurrency: 1,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      // A shard whose workers keep dying is still redone a few times before it counts as failed.
      maxStalledCount: 5,
    });
    worker.on('error', (error: Error) => emit({ type: 'queueError', message: error.message }));
    workerOf.set(modelId, worker);
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  let closing: Promise<void> | null = null;
  return {
    name,
    modelIds: held,
    close(force = false) {
      closing ??= (async () => {
        closed = true;
        for (const timer of resumeTimers) clearTimeout(timer);
        await Promise.all(workers.map((worker) => worker.close(force)));
        for (const evaluator of evaluators.values()) await evaluator.then((opened) => opened.release(), () => undefined);
        connection.disconnect();
      })();
      return closing;
    },
  };
}
