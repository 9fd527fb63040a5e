/**
 * The coordinator of an evaluation spread over machines: it puts the evaluation's shards on
 * the queue, follows each one (which worker has it, how far it is, how fast), collects the
 * returned features and logits by (scale, seed), and once every seed is in, scores each scale
 * as the single-machine evaluation does. It polls the queue rather than listening to events,
 * so it needs nothing but the jobs themselves to carry on after Redis restarts, and puts back
 * any shard a restart without persistence lost.
 */
import { randomUUID } from 'node:crypto';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeProblems } from '../../common/contract/bounds';
import {
  EvaluationSpec,
  type EvaluationResult,
  type EvaluationShards,
  type EvaluationSpecInput,
  type ShardedPhase,
  type ShardView,
  type WorkerView,
} from '../../common/contract/evaluation';
import { modelSha256 } from '../../common/models/model-identity';
import type { Engine } from '../inference';
import { DEFAULT_NEIGHBOURHOOD } from '../metrics/precision-recall';
import { checkEvaluationAgainstModel } from '../service/request-checks';
import { openFigureScorer, type FigureScorer } from './evaluation-figures';
import { connectionProblem, openQueueConnection, queueAddress, type QueueTlsFiles } from './queue-connection';
import { shardQueueName, ShardProgress, ShardResult, type ShardJob } from './shard-contract';
import { planShards, type PlannedShard } from './shard-plan';
import { ShardResults } from './shard-results';

/**
 * Tries per shard. A refusal counts as one, and each retry waits twice as long as the last
 * (from a quarter second), so a shard refused by a worker with other weights still reaches a
 * busy worker with the right ones; only after about 17 minutes of refusals does it fail.
 */
export const DEFAULT_SHARD_ATTEMPTS = 12;

export interface ShardedEvaluationOptions {
  queueUrl: string;
  /** Computes the figures once every seed is in (the studio's own engine). */
  engine: Engine;
  tls?: QueueTlsFiles;
  /** The coordinator's copy of the model folder: its fingerprint goes into every shard, and its reference data scores them. */
  modelDir: string;
  evaluationId?: string;
  /** Seeds per shard. */
  shardSize?: number;
  /** Samples per engine batch on the workers. */
  batchSize?: number;
  /** Have the workers send the 8-bit images back as well. */
  returnImages?: boolean;
  /** Tries per shard, counting refusals by workers without the model, before the evaluation fails. */
  attempts?: number;
  /** BullMQ priority of the shards (1 is the highest); evaluations without one go after those with one. */
  priority?: number;
  pollIntervalMs?: number;
  /**
   * Shards an earlier coordinator already collected (kept in the gallery): those with the same
   * scale and seeds as a planned shard count as done and are not put on the queue again.
   */
  collected?: readonly CollectedShard[];
  /** Called with each shard as it comes in, so the caller can keep it. */
  onShardCollected?(shard: CollectedShard): void;
}

export interface CollectedShard {
  scale: number;
  result: ShardResult;
}

/** What `view()` and every progress call give: the contract's shard view. */
export type ShardedEvaluationProgress = EvaluationShards;

export interface ShardedEvaluationOutcome {
  evaluationId: string;
  spec: EvaluationSpec;
  results: EvaluationResult[];
  shards: ShardView[];
  workers: WorkerView[];
  /** Seeds that arrived more than once and were dropped. */
  duplicateSeeds: number;
}

export interface ShardedEvaluation {
  readonly evaluationId: string;
  onProgress(listener: (progress: ShardedEvaluationProgress) => void): () => void;
  view(): ShardedEvaluationProgress;
  /** Settles with the figures, or rejects with a sentence (a shard failed on every try, or the evaluation was cancelled). */
  readonly done: Promise<ShardedEvaluationOutcome>;
  /** 8-bit pixels [height, width, channels] of one sample, when the shards were asked to return images. */
  pixels(scale: number, seed: number): Uint8Array | null;
  /** Takes the evaluation's waiting shards off the queue and stops following it. */
  cancel(): Promise<void>;
}

interface FollowedShard {
  planned: PlannedShard;
  view: ShardView;
  collected: boolean;
}

interface WorkerTally {
  shards: number;
  samples: number;
  seconds: number;
}

/** How long a cancelled or failed evaluation waits to take its shards off the queue. */
const WITHDRAW_WAIT_MS = 5000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parsedSpec(input: EvaluationSpecInput): EvaluationSpec {
  const parsed = EvaluationSpec.safeParse(input);
  if (!parsed.success) throw new Error(`The evaluation settings are not valid: ${describeProblems(parsed.error)}.`);
  if (parsed.data.samplesPerScale <= DEFAULT_NEIGHBOURHOOD) {
    throw new Error(`An evaluation needs at least ${DEFAULT_NEIGHBOURHOOD + 1} samples per scale: precision and recall use each sample's ${DEFAULT_NEIGHBOURHOOD}rd nearest neighbour.`);
  }
  return parsed.data;
}

export async function startShardedEvaluation(input: EvaluationSpecInput, options: ShardedEvaluationOptions): Promise<ShardedEvaluation> {
  const spec = parsedSpec(input);
  const scorer = await openFigureScorer(options.engine, options.modelDir);
  let connection: Redis | null = null;
  let queue: Queue | null = null;
  try {
    if (scorer.manifest.id !== spec.modelId) {
      throw new Error(`The model folder ${options.modelDir} holds "${scorer.manifest.id}", not "${spec.modelId}"; give the folder of the model the evaluation names.`);
    }
    checkEvaluationAgainstModel(scorer.manifest, spec);
    const address = queueAddress(options.queueUrl, options.tls);
    connection = await openQueueConnection(address);
    queue = new Queue(shardQueueName(spec.modelId), { connection });
    // A queue error (Redis restarting) is reported in the view; without a listener it would be thrown.
    queue.on('error', () => undefined);
    const evaluationId = options.evaluationId ?? randomUUID();
    const planned = planShards(spec, {
      evaluationId,
      modelSha256: modelSha256(scorer.manifest),
      ...(options.shardSize ? { shardSize: options.shardSize } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      returnImages: options.returnImages ?? false,
    });
    const alreadyCollected = (shard: PlannedShard) => collectedFor(shard, options.collected ?? []) !== undefined;
    const attempts = options.attempts ?? DEFAULT_SHARD_ATTEMPTS;
    const jobOptions: JobsOptions & { attempts: number } = {
      attempts,
      backoff: { type: 'exponential', delay: 250 },
      // Collected results are removed by the coordinator; these only bound what an abandoned evaluation leaves.
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
    };
    const toDraw = planned.filter((shard) => !alreadyCollected(shard));
    await queue.addBulk(toDraw.map((shard) => ({ name: 'shard', data: shard.job, opts: { ...jobOptions, jobId: shard.jobId } }))).catch((error: unknown) => {
      const problem = connectionProblem(error, address.display);
      throw problem === null ? error : new Error(problem, { cause: error });
    });
    return followEvaluation({
      spec,
      evaluationId,
      planned,
      queue,
      connection,
      scorer,
      jobOptions,
      address: address.display,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      collected: options.collected ?? [],
      ...(options.onShardCollected ? { onShardCollected: options.onShardCollected } : {}),
    });
  } catch (error) {
    await queue?.close().catch(() => undefined);
    connection?.disconnect();
    throw error;
  }
}

/** The stored shard that answers a planned one: same scale, same seeds. */
function collectedFor(shard: PlannedShard, collected: readonly CollectedShard[]): CollectedShard | undefined {
  const { scale, seeds } = shard.job;
  return collected.find((stored) => stored.scale === scale && stored.result.seeds.length === seeds.length && stored.result.seeds.every((seed, index) => seed === seeds[index]));
}

interface FollowContext {
  collected: readonly CollectedShard[];
  onShardCollected?(shard: CollectedShard): void;
  spec: EvaluationSpec;
  evaluationId: string;
  planned: PlannedShard[];
  queue: Queue;
  connection: Redis;
  scorer: FigureScorer;
  jobOptions: JobsOptions & { attempts: number };
  address: string;
  pollIntervalMs: number;
}

function followEvaluation(context: FollowContext): ShardedEvaluation {
  const { spec, evaluationId, queue, scorer } = context;
  const listeners = new Set<(progress: ShardedEvaluationProgress) => void>();
  const results = new ShardResults(spec);
  const pixelsPerSample = scorer.manifest.image.size ** 2 * scorer.manifest.image.channels;
  const tallies = new Map<string, WorkerTally>();
  const shards: FollowedShard[] = context.planned.map((planned) => ({
    planned,
    collected: false,
    view: {
      shardId: planned.job.shardId,
      scale: planned.job.scale,
      firstSeed: planned.job.seeds[0]!,
      seedCount: planned.job.seeds.length,
      status: 'waiting',
      worker: null,
      workers: [],
      doneSamples: 0,
      attemptsMade: 0,
      samplesPerSecond: null,
      error: null,
    },
  }));
  let phase: ShardedPhase = 'sampling';
  let queueProblem: string | null = null;
  let duplicateSeeds = 0;
  let cancelled = false;
  for (const shard of shards) {
    const stored = collectedFor(shard.planned, context.collected);
    if (stored === undefined) continue;
    results.add(shard.planned.scaleIndex, shard.planned.job, stored.result, pixelsPerSample);
    shard.collected = true;
    shard.view = { ...shard.view, status: 'done', worker: stored.result.worker, workers: [stored.result.worker], doneSamples: shard.view.seedCount };
  }

  const workerViews = (): WorkerView[] =>
    [...tallies.entries()].map(([worker, tally]) => ({ worker, shards: tally.shards, samples: tally.samples, samplesPerSecond: tally.seconds > 0 ? tally.samples / tally.seconds : 0 }));

  const view = (): ShardedEvaluationProgress => ({
    evaluationId,
    phase,
    doneSamples: shards.reduce((sum, shard) => sum + shard.view.doneSamples, 0),
    totalSamples: spec.samplesPerScale * spec.scales.length,
    shards: shards.map((shard) => ({ ...shard.view, workers: [...shard.view.workers] })),
    workers: workerViews(),
    queueProblem,
  });
  const emit = () => {
    const progress = view();
    for (const listener of listeners) listener(progress);
  };

  const noteWorker = (shard: FollowedShard, worker: string) => {
    shard.view.worker = worker;
    if (shard.view.workers.at(-1) !== worker) shard.view.workers.push(worker);
  };

  /** Reads one shard's job and takes in its result when it has one; throws when the shard failed for good. */
  async function check(shard: FollowedShard): Promise<void> {
    // The state first: a job read before it completed would lack its result.
    const state = await queue.getJobState(shard.planned.jobId);
    const job = (await queue.getJob(shard.planned.jobId)) as Job<ShardJob, unknown> | undefined;
    if (state === 'unknown' || !job) {
      if (cancelled) return;
      // Lost with a Redis that kept no data: put it back.
      await queue.add('shard', shard.planned.job, { ...context.jobOptions, jobId: shard.planned.jobId });
      shard.view = { ...shard.view, status: 'waiting', doneSamples: 0 };
      return;
    }
    shard.view.attemptsMade = job.attemptsMade;
    const progress = ShardProgress.safeParse(job.progress);
    if (state === 'completed') {
      const result = ShardResult.safeParse(job.returnvalue);
      if (!result.success) throw new Error(`Shard ${shard.view.shardId} came back in a form this studio does not read (${describeProblems(result.error)}); are all workers the same studio version?`);
      const added = results.add(shard.planned.scaleIndex, shard.planned.job, result.data, pixelsPerSample);
      context.onShardCollected?.({ scale: shard.planned.job.scale, result: result.data });
      duplicateSeeds += shard.planned.job.seeds.length - added;
      const tally = tallies.get(result.data.worker) ?? { shards: 0, samples: 0, seconds: 0 };
      tally.shards++;
      tally.samples += result.data.seeds.length;
      tally.seconds += result.data.seconds;
      tallies.set(result.data.worker, tally);
      noteWorker(shard, result.data.worker);
      shard.collected = true;
      shard.view = { ...shard.view, status: 'done', doneSamples: shard.view.seedCount, error: null, samplesPerSecond: result.data.seconds > 0 ? result.data.seeds.length / result.data.seconds : null };
      await job.remove().catch(() => undefined);
      return;
    }
    if (state === 'failed') {
      shard.view = { ...shard.view, status: 'failed', error: job.failedReason };
      throw new Error(`Shard ${shard.view.shardId} failed on all of its ${context.jobOptions.attempts} tries; the last said: ${job.failedReason}`);
    }
    if (state === 'active' && progress.success) {
      noteWorker(shard, progress.data.worker);
      const seconds = job.processedOn ? (Date.now() - job.processedOn) / 1000 : 0;
      shard.view = { ...shard.view, status: 'active', doneSamples: progress.data.doneSamples, samplesPerSecond: seconds > 0 ? progress.data.doneSamples / seconds : null };
      return;
    }
    const retrying = job.attemptsMade > 0 || (job.failedReason ?? '') !== '';
    shard.view = { ...shard.view, status: retrying ? 'retrying' : state === 'active' ? 'active' : 'waiting', doneSamples: 0, error: job.failedReason || shard.view.error };
  }

  /** Takes the shards not collected yet off the queue; one a worker holds stays and its result ages out. */
  async function withdraw(): Promise<void> {
    const removals = Promise.all(shards.filter((shard) => !shard.collected).map((shard) => queue.remove(shard.planned.jobId).catch(() => 0)));
    // With Redis away the removals would wait for it; the shards then simply age out.
    await Promise.race([removals, sleep(WITHDRAW_WAIT_MS)]);
  }

  async function follow(): Promise<ShardedEvaluationOutcome> {
    while (!cancelled && shards.some((shard) => !shard.collected)) {
      try {
        for (const shard of shards) if (!shard.collected && !cancelled) await check(shard);
      } catch (error) {
        const problem = connectionProblem(error, context.address);
        // Only a failed shard or an unreadable result ends the evaluation; Redis being away does not.
        if (problem === null && !/Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable|LOADING/i.test(String(error))) throw error;
        queueProblem = problem ?? `Redis at ${context.address} is not answering (${(error as Error).message}); waiting for it to come back.`;
      }
      emit();
      if (shards.some((shard) => !shard.collected)) await sleep(context.pollIntervalMs);
    }
    if (cancelled) throw new Error(`Evaluation ${evaluationId} was cancelled.`);
    phase = 'scoring';
    emit();
    const figures: EvaluationResult[] = [];
    for (const [scaleIndex, scale] of spec.scales.entries()) figures.push(await scorer.score(spec, scale, results.merged(scaleIndex)));
    phase = 'completed';
    emit();
    return { evaluationId, spec, results: figures, shards: view().shards, workers: workerViews(), duplicateSeeds };
  }

  // While Redis is away, queue commands wait for the reconnect instead of failing; the view says so meanwhile.
  const onReconnecting = () => {
    queueProblem = `Redis at ${context.address} is not answering; waiting for it to come back (finished shards are kept).`;
    emit();
  };
  const onReady = () => {
    queueProblem = null;
  };
  context.connection.on('reconnecting', onReconnecting);
  context.connection.on('ready', onReady);

  const done = follow()
    .catch(async (error: unknown) => {
      phase = cancelled ? 'cancelled' : 'failed';
      await withdraw();
      emit();
      throw error;
    })
    .finally(async () => {
      context.connection.off('reconnecting', onReconnecting);
      context.connection.off('ready', onReady);
      await queue.close().catch(() => undefined);
      context.connection.disconnect();
    });
  // The caller may only ever await `done` later; an early rejection must not count as unhandled.
  done.catch(() => undefined);

  return {
    evaluationId,
    onProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    view,
    done,
    pixels(scale, seed) {
      const scaleIndex = spec.scales.indexOf(scale);
      return scaleIndex < 0 ? null : results.pixels(scaleIndex, seed);
    },
    async cancel() {
      if (cancelled || phase !== 'sampling') return;
      cancelled = true;
      await done.catch(() => undefined);
    },
  };
}
