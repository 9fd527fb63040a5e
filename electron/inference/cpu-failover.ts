/**
 * A sampling job that outlives its provider: when a network call fails part way on a GPU
 * provider (out of memory, a lost device), the model is opened on the CPU and the seeds not yet
 * finished are drawn there. The noise is counter-based, so those are the images a run on the CPU
 * alone gives; the samples already finished are kept as they are.
 */
import type { RunRequest } from '../../common/contract/run-request';
import { SamplingDivergedError } from '../../common/diffusion/sampler';
import { planRun, RunRequestError } from '../../common/models/run-plan';
import type { LoadedModel } from './loaded-model';
import { firstLine, type ProviderAttempt } from './provider-order';
import { gatherRows, runSamplingJob, type JobEvents, type JobOptions } from './sampling-job';
import type { ReplayNoise, RunTimings } from './types';

export interface FailoverResult {
  /** Network times of the provider that finished the job; the wall time of the whole job. */
  timings: RunTimings;
  /** The model the last sample was drawn on: the one given, or its CPU reopening. */
  model: LoadedModel;
  /** The provider that failed part way, where and why; null when the job ran where it started. */
  failure: ProviderAttempt | null;
}

/** Errors that say nothing about the provider: a cancel, a request the model cannot run, a sample that diverges on any device. */
function isProviderFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  return error.name !== 'AbortError' && !(error instanceof RunRequestError) && !(error instanceof SamplingDivergedError);
}

/** Rows `from` … N − 1 of the replayed noise, for the seeds still to draw. */
function remainingNoise(noise: ReplayNoise, from: number, total: number, perSample: number, stepCount: number): ReplayNoise {
  const rows = Array.from({ length: total - from }, (_, offset) => from + offset);
  return {
    initial: gatherRows(noise.initial, 1, total, perSample, rows),
    steps: noise.steps === null ? null : gatherRows(noise.steps, stepCount, total, perSample, rows),
  };
}

/**
 * Runs the job on `model`; should a call fail on a provider other than the CPU, reopens the model
 * with `reopenOnCpu` (told the failure) and draws the seeds left there, events numbered as in the
 * whole request. A failure on the CPU, a cancel or a diverged sample ends the job with its own error.
 */
export async function sampleFallingBackToCpu(
  model: LoadedModel,
  request: RunRequest,
  options: JobOptions,
  events: JobEvents,
  reopenOnCpu: (failure: ProviderAttempt) => Promise<LoadedModel>,
): Promise<FailoverResult> {
  const started = performance.now();
  const plan = options.plan ?? planRun(model.folder.manifest, request);
  const stepCount = plan.diffusion.timestepMap.length;
  let finished = 0;
  let stepsDoneInBatch = 0;
  try {
    const timings = await runSamplingJob(model, request, { ...options, plan }, {
      progress(event) {
        stepsDoneInBatch = event.step + 1;
        events.progress(event);
      },
      sample(sample) {
        finished += 1;
        stepsDoneInBatch = 0;
        events.sample(sample);
      },
    });
    return { timings, model, failure: null };
  } catch (error) {
    if (model.unet.provider === 'cpu' || !isProviderFailure(error) || options.cancelled?.() === true || options.signal?.aborted === true) throw error;
    const failure: ProviderAttempt = { provider: model.unet.provider, error: firstLine(error), failedAt: { step: Math.min(stepsDoneInBatch + 1, stepCount), steps: stepCount } };
    const cpu = await reopenOnCpu(failure);
    const total = request.seeds.length;
    // Batches end with all their samples, so the finished ones are whole batches at the front.
    const batchesDone = Math.floor(finished / Math.min(request.batchSize, total));
    const rest: RunRequest = { ...request, seeds: request.seeds.slice(finished) };
    const noise = options.noise === null ? null : remainingNoise(options.noise, finished, total, plan.channels * plan.size * plan.size, stepCount);
    const timings = await runSamplingJob(cpu, rest, { ...options, plan, noise }, {
      progress: (event) =>
        events.progress({
          ...event,
          batch: event.batch + batchesDone,
          batches: event.batches + batchesDone,
          samplesDone: event.samplesDone + finished,
          total,
          previews: event.previews.map((preview) => ({ ...preview, index: preview.index + finished })),
        }),
      sample: (sample) => events.sample({ ...sample, index: sample.index + finished }),
    });
    return { timings: { ...timings, totalMs: performance.now() - started }, model: cpu, failure };
  }
}
