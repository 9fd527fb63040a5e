/**
 * One run from start to end: record it in the gallery, sample with the engine, write each
 * sample with its image as soon as it is finished, and report progress as RunEvents.
 */
import type { RunRequest } from '../../common/contract/run-request';
import type { PreviewImage, RunEvent } from '../../common/contract/studio-api';
import { NOISE_ALGORITHM } from '../../common/diffusion/rng';
import type { ModelManifest } from '../../common/models/manifest';
import type { RunPlan } from '../../common/models/run-plan';
import { newSampleFrom, type Gallery, type NewSample } from '../gallery';
import { fallbackReason, type Engine, type ProgressEvent, type ReplayNoise, type RunResult } from '../inference';
import type { JobControl } from './job-queue';
import { stoppedOnRequest, type JobOutcome } from './job-outcome';
import { encodePreview } from './preview-encoding';
import { ProgressMeter } from './progress-meter';
import { messageForUser, UserFacingError } from './user-facing-error';

/** Previews at most this often: the page gains nothing from more, and each costs a frame. */
const previewIntervalMs = 100;
/** Step events at most this often (a small model takes thousands of steps a second). */
const stepIntervalMs = 40;

export interface RunJob {
  jobId: number;
  sweepId: string | null;
  request: RunRequest;
  /** The stopped gallery run this job draws the missing seeds of; null for a new run. */
  finishesRunId: number | null;
  recordTrajectory: boolean;
  /** What the request means for its model, planned once when it arrived; it goes on to the sampler. */
  plan: RunPlan;
  manifest: ModelManifest;
  /** The folder the model was read from, named when its manifest cannot be drawn. */
  modelDir: string;
  /** Samples the gallery run already holds (a finished or resumed run); counted in the progress. */
  samplesBefore: number;
  /** What only the process that queued the run can give it; absent for runs from the page. */
  inProcess?: InProcessRun;
}

/** The noise generator a run records when its noise was replayed from files instead of drawn from its seeds. */
export const REPLAYED_NOISE = 'replayed';

/**
 * What the command line hands its own runs: noise replayed from files, and a wish for the
 * engine's full result (images in model space, trajectories as arrays) once the run is drawn.
 */
export interface InProcessRun {
  noise?: ReplayNoise;
  onResult?(result: RunResult): void;
}

export interface RunJobContext {
  engine: Engine;
  gallery: Gallery;
  appVersion: string;
  emit(event: RunEvent): void;
  /** Registers the model in the gallery and opens its sessions; returns the provider really used. */
  prepareModel(modelId: string, provider: RunRequest['provider']): Promise<string>;
}

/** Images the gallery stores: greyscale or RGB, one byte a channel. */
const STORABLE_CHANNELS: readonly number[] = [1, 3];

function storedBytes(sample: NewSample): number {
  let bytes = sample.png.byteLength;
  for (const step of sample.trajectory ?? []) bytes += step.xt.byteLength + step.predX0.byteLength + (step.classifier?.heat.byteLength ?? 0);
  return bytes;
}

/** Refuses, before anything is drawn, a model whose images the gallery could not store. */
function checkStorableImages(job: RunJob): void {
  const { channels } = job.manifest.image;
  if (STORABLE_CHANNELS.includes(channels)) return;
  throw new UserFacingError(
    `The model in ${job.modelDir} declares image.channels ${channels} in its manifest.json, but the studio stores images with 1 channel (greyscale) or 3 (RGB). ` +
      `Fix image.channels in that manifest (or convert the model again); nothing was drawn.`,
  );
}

export async function executeRunJob(job: RunJob, context: RunJobContext, control: JobControl): Promise<JobOutcome> {
  const { signal } = control;
  const { request } = job;
  const base = { jobId: job.jobId, sweepId: job.sweepId };
  const batchCount = Math.ceil(request.seeds.length / request.batchSize);
  const stepsPerBatch = job.plan.diffusion.timestepMap.length;
  const channels: 1 | 3 = job.manifest.image.channels === 1 ? 1 : 3;
  let runId: number | null = null;
  let sampleCount = 0;
  /** What the last sample took in the gallery, to say how much room the rest of the run needs. */
  let bytesPerSample = 0;

  try {
    checkStorableImages(job);
    const provider = await context.prepareModel(request.modelId, request.provider);
    signal.throwIfAborted();
    const run =
      job.finishesRunId === null
        ? context.gallery.runs.start({
            request,
            provider: provider as RunRequest['provider'],
            noiseAlgorithm: job.inProcess?.noise ? REPLAYED_NOISE : NOISE_ALGORITHM,
            appVersion: context.appVersion,
          })
        : context.gallery.runs.reopen(job.finishesRunId);
    runId = run.id;
    control.attachRun(run.id);
    context.emit({
      ...base,
      type: 'started',
      runId: run.id,
      request,
      totalSteps: stepsPerBatch,
      sampleCount: request.seeds.length,
      activeProvider: provider,
    });

    const meter = new ProgressMeter(stepsPerBatch * batchCount);
    let lastStepAt = -Infinity;
    const onProgress = (event: ProgressEvent): void => {
      const done = event.batch * event.steps + event.step + 1;
      const { stepsPerSecond, secondsLeft } = meter.update(done);
      const now = performance.now();
      const edgeStep = event.step === 0 || event.step + 1 === event.steps;
      // The worker makes previews only at previewIntervalMs, so every one that arrives is shown.
      const previewDue = event.previews.length > 0;
      if (!edgeStep && !previewDue && now - lastStepAt < stepIntervalMs) return;
      lastStepAt = now;
      let previews: PreviewImage[] = [];
      if (previewDue) {
        previews = event.previews.map((preview) => encodePreview(preview, request.seeds[preview.index]!, channels));
      }
      context.emit({
        ...base,
        type: 'step',
        step: event.step + 1,
        totalSteps: event.steps,
        batchIndex: event.batch,
        batchCount: event.batches,
        stepsPerSecond,
        secondsLeft,
        previews,
      });
    };

    const result = await context.engine.sample(request, {
      signal,
      plan: job.plan,
      ...(job.inProcess?.noise ? { noise: job.inProcess.noise } : {}),
      trajectory: job.recordTrajectory,
      previewEvery: 1,
      previewIntervalMs,
      onProgress,
      // Kept as soon as it is known, so a run that stops later still says where it was drawn and why.
      onProvider: (used, fallbacks) => context.gallery.runs.recordProvider(run.id, used, fallbackReason(fallbacks, used, 'running')),
      // A throw here (the sample cannot be stored) stops the engine job and fails the run below.
      onSample: (sample) => {
        if (!context.gallery.runs.holdsLease(run.id)) {
          throw new UserFacingError(
            `Another Guided Diffusion Studio on the same data folder took over run ${run.id} while this one was busy; this studio stopped drawing it so the two do not both add samples.`,
          );
        }
        const stored = newSampleFrom(sample);
        bytesPerSample = storedBytes(stored);
        const record = context.gallery.samples.add(run.id, stored);
        sampleCount++;
        context.emit({ ...base, type: 'sample', sample: record });
        control.progress(job.samplesBefore + sampleCount);
      },
    });
    context.gallery.runs.recordProvider(run.id, result.provider, fallbackReason(result.fallbacks, result.provider));
    context.gallery.runs.end(run.id, 'completed');
    job.inProcess?.onResult?.(result);
    context.emit({ ...base, type: 'finished', status: 'completed', message: null, sampleCount });
    return { status: 'completed', message: null };
  } catch (error) {
    const cancelled = stoppedOnRequest(signal, error);
    const bytesStillNeeded = bytesPerSample > 0 ? (request.seeds.length - sampleCount) * bytesPerSample : undefined;
    const message = cancelled ? null : messageForUser(context.gallery.explainStorageFailure(error, { bytesStillNeeded }));
    if (runId !== null) endRun(context, runId, cancelled ? 'cancelled' : 'failed', message);
    context.emit({ ...base, type: 'finished', status: cancelled ? 'cancelled' : 'failed', message, sampleCount });
    return { status: cancelled ? 'cancelled' : 'failed', message };
  }
}

/** Records how the run ended; the gallery keeps an ending it cannot write yet, and anything else is logged, never thrown past the job. */
function endRun(context: RunJobContext, runId: number, status: 'cancelled' | 'failed', message: string | null): void {
  try {
    context.gallery.runs.end(runId, status, message);
  } catch (error) {
    console.error(`Run ${runId} ended ${status}, but the gallery could not record it:`, error);
  }
}
