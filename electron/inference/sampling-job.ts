/**
 * One run request on a loaded model: the seeds are cut into batches, each batch is sampled with
 * the chosen sampler, and progress, previews, samples and trajectories are reported as they come.
 */
import { variationOf, type RunRequest } from '../../common/contract/run-request';
import { toRgba, toUint8 } from '../../common/diffusion/preview';
import { replayedNoise, seededNoise, type NoiseSource } from '../../common/diffusion/rng';
import { samplers } from '../../common/diffusion/samplers';
import { switchedSampling } from '../../common/diffusion/switched-sampling';
import type { BatchShape, ClassifierGradientFn, SamplerStep } from '../../common/diffusion/sampler';
import { planRun, recordedSteps, TRAJECTORY_BUDGET_BYTES, type RunPlan } from '../../common/models/run-plan';
import type { LoadedModel } from './loaded-model';
import { checkReplayNoise } from './replay-noise';
import { emptyTimings, type RuntimeTimings } from './networks';
import { phaseNetworks } from './phase-networks';
import { deviceRunFor, type StepPlacement } from './device-sampling';
import { previewClock } from './preview-clock';
import type { ProgressEvent, RecordedClassifierViews, ReplayNoise, RunTimings, SampleResult, SampleTrajectory } from './types';
import { gradientHeat, topClasses } from './classifier-view';
import { CLASSIFIER_TOP_CLASSES } from '../../common/contract/gallery';

export { checkReplayNoise, needsStepNoise } from './replay-noise';

export interface JobOptions {
  signal?: AbortSignal;
  /** Polled before every network call: a flag the main thread can set while this thread is busy. */
  cancelled?: () => boolean;
  trajectory: boolean;
  previewEvery: number;
  /**
   * Least time between two previews of a batch; its first and last steps always have them.
   * Previews are made only when due, so a fast sampler does not convert x̂₀ every step for
   * a page that shows a few a second.
   */
  previewIntervalMs?: number;
  noise: ReplayNoise | null;
  /** The request's plan, made where the request arrived; planned here when absent. */
  plan?: RunPlan;
  /** Memory one batch's trajectory may take; fewer steps are kept when all would not fit. */
  trajectoryBudgetBytes?: number;
  /** Where the reverse steps run (device-sampling.ts); "auto" when absent. */
  stepsOn?: StepPlacement;
}

export interface JobEvents {
  progress(event: ProgressEvent): void;
  sample(sample: SampleResult): void;
}

/** Batch sizes the UNet accepts: any for "dynamic", else the largest listed one that fits. */
function graphBatchSize(batchOption: 'dynamic' | number[], requested: number): number {
  if (batchOption === 'dynamic') return requested;
  const fitting = batchOption.filter((size) => size <= requested);
  return fitting.length > 0 ? Math.max(...fitting) : Math.min(...batchOption);
}

/** Copies rows `rows` of a [.., N, perRow] block array into a [.., rows.length, perRow] one. */
export function gatherRows(source: Float32Array, blocks: number, rowsPerBlock: number, perRow: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(blocks * rows.length * perRow);
  for (let block = 0; block < blocks; block++) {
    rows.forEach((row, position) => {
      const from = (block * rowsPerBlock + row) * perRow;
      out.set(source.subarray(from, from + perRow), (block * rows.length + position) * perRow);
    });
  }
  return out;
}

interface TrajectoryRecorder {
  record(step: SamplerStep): void;
  forSample(position: number): SampleTrajectory;
}

function emptyClassifierViews(slots: number, plane: number): RecordedClassifierViews {
  return {
    t: new Int32Array(slots).fill(-1),
    probability: new Float32Array(slots),
    topClasses: new Int32Array(slots * CLASSIFIER_TOP_CLASSES).fill(-1),
    topProbabilities: new Float32Array(slots * CLASSIFIER_TOP_CLASSES),
    heat: new Uint8Array(slots * plane),
    gradientMax: new Float32Array(slots),
  };
}

/** Files one classifier pass (a step's, on the xₜ the step before left) under that earlier step's slot. */
function recordClassifierView(views: RecordedClassifierViews, slot: number, step: SamplerStep, sample: number, channels: number, plane: number): void {
  const { classifierGrad, classifierLogits, classProbability } = step;
  if (classifierGrad === undefined || classifierLogits === undefined || classProbability === undefined) return;
  views.t[slot] = step.t;
  views.probability[slot] = classProbability[sample] as number;
  const rows = classProbability.length;
  const { max } = gradientHeat(classifierGrad, sample, channels, plane, views.heat.subarray(slot * plane, (slot + 1) * plane));
  views.gradientMax[slot] = max;
  topClasses(classifierLogits, sample, classifierLogits.length / rows).forEach(({ classIndex, probability }, rank) => {
    views.topClasses[slot * CLASSIFIER_TOP_CLASSES + rank] = classIndex;
    views.topProbabilities[slot * CLASSIFIER_TOP_CLASSES + rank] = probability;
  });
}

/** Keeps the steps listed in `kept` (ascending sampler steps); memory is allocated for those only. */
function trajectoryRecorder(initial: Float32Array, batch: number, channels: number, perSample: number, kept: readonly number[], guided: boolean): TrajectoryRecorder {
  const slotOfStep = new Map(kept.map((step, slot) => [step, slot]));
  const slots = kept.length;
  const plane = perSample / channels;
  const t = new Int32Array(slots);
  const xt = Array.from({ length: batch }, () => new Float32Array(slots * perSample));
  const predX0 = Array.from({ length: batch }, () => new Float32Array(slots * perSample));
  const classProbability = guided ? Array.from({ length: batch }, () => new Float32Array(slots)) : null;
  const gradNorm = guided ? Array.from({ length: batch }, () => new Float32Array(slots)) : null;
  const classifierViews = guided ? Array.from({ length: batch }, () => emptyClassifierViews(slots, plane)) : null;
  return {
    record(step) {
      // This step's classifier pass ran on the xₜ the step before left: what it saw belongs there.
      const previousSlot = slotOfStep.get(step.step - 1);
      if (classifierViews && previousSlot !== undefined) {
        classifierViews.forEach((views, sample) => recordClassifierView(views, previousSlot, step, sample, channels, plane));
      }
      const slot = slotOfStep.get(step.step);
      if (slot === undefined) return;
      t[slot] = step.t;
      for (let sample = 0; sample < batch; sample++) {
        const rows = [sample * perSample, (sample + 1) * perSample] as const;
        (xt[sample] as Float32Array).set(step.xt.subarray(...rows), slot * perSample);
        (predX0[sample] as Float32Array).set(step.predX0.subarray(...rows), slot * perSample);
        if (classProbability && step.classProbability) (classProbability[sample] as Float32Array)[slot] = step.classProbability[sample] as number;
        if (gradNorm && step.gradNorm) (gradNorm[sample] as Float32Array)[slot] = step.gradNorm[sample] as number;
      }
    },
    forSample(position) {
      return {
        t,
        initial: initial.slice(position * perSample, (position + 1) * perSample),
        xt: xt[position] as Float32Array,
        predX0: predX0[position] as Float32Array,
        classProbability: classProbability?.[position] ?? null,
        gradNorm: gradNorm?.[position] ?? null,
        classifier: classifierViews?.[position] ?? null,
      };
    },
  };
}

/** CHW planes → HWC interleaved pixels. */
function interleave(planes: Uint8Array, channels: number, plane: number): Uint8Array {
  if (channels === 1) return planes;
  const pixels = new Uint8Array(planes.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) pixels[p * channels + c] = planes[c * plane + p] as number;
  return pixels;
}

function abortError(): Error {
  const error = new Error('Sampling was cancelled.');
  error.name = 'AbortError';
  return error;
}

/** Wraps a network call so a cancel request stops the job before the next call starts. */
function cancellable<A extends unknown[], R>(run: (...args: A) => Promise<R>, cancelled: (() => boolean) | undefined): (...args: A) => Promise<R> {
  if (cancelled === undefined) return run;
  return (...args) => {
    if (cancelled()) return Promise.reject(abortError());
    return run(...args);
  };
}

export async function runSamplingJob(model: LoadedModel, request: RunRequest, options: JobOptions, events: JobEvents): Promise<RunTimings> {
  const started = performance.now();
  const { manifest } = model.folder;
  const plan = options.plan ?? planRun(manifest, request);
  if (options.noise !== null) checkReplayNoise(options.noise, request, plan);
  const { channels, size } = plan;
  const perSample = channels * size * size;
  const stepCount = plan.diffusion.betas.length;
  const timings: RuntimeTimings = emptyTimings();
  const total = request.seeds.length;
  const samplesPerBatch = Math.min(request.batchSize, total);
  const batches = Math.ceil(total / samplesPerBatch);
  const graphBatch = graphBatchSize(manifest.unet.batch, samplesPerBatch);
  // Sized for a full batch, so every sample of the run keeps the same steps.
  const keptSteps = options.trajectory ? recordedSteps(stepCount, samplesPerBatch, perSample, options.trajectoryBudgetBytes ?? TRAJECTORY_BUDGET_BYTES) : [];
  const device = await deviceRunFor(model, request, plan, options.stepsOn ?? 'auto', { trajectory: options.trajectory, switches: plan.switchAt !== null });

  for (let batch = 0; batch < batches; batch++) {
    const first = batch * samplesPerBatch;
    const members = request.seeds.slice(first, first + samplesPerBatch).map((seed, offset) => ({ seed, index: first + offset }));
    // Graphs with fixed batch sizes get the last sample repeated; its copies are dropped.
    const runBatch = Math.max(graphBatch, members.length);
    const rows = Array.from({ length: runBatch }, (_, position) => (members[Math.min(position, members.length - 1)] as { index: number }).index);
    const shape: BatchShape = { batch: runBatch, channels, height: size, width: size };
    const noise: NoiseSource =
      options.noise === null
        ? seededNoise(
            rows.map((row) => request.seeds[row] as number),
            variationOf(request),
          )
        : replayedNoise(
            gatherRows(options.noise.initial, 1, total, perSample, rows),
            options.noise.steps === null ? null : gatherRows(options.noise.steps, stepCount, total, perSample, rows),
          );
    const batchNetworks = { model, shape, timings, guard: (run: ClassifierGradientFn) => cancellable(run, options.cancelled) };
    const { gradient: firstGradient, guidance, denoise } = phaseNetworks(batchNetworks, { ...plan, scale: request.scale });
    const switched = plan.switchAt === null ? null : phaseNetworks(batchNetworks, plan.switchAt);
    // The sample's last steps are the switched ones: its confidence is asked of their classifier.
    const gradient = switched === null ? firstGradient : switched.gradient;
    const finalSchedule = plan.switchAt?.guidanceSchedule ?? plan.guidanceSchedule;
    const initial = new Float32Array(runBatch * perSample);
    if (options.trajectory) {
      // The samplers draw x_T themselves; the recorder keeps a copy from the same source.
      noise.initial(initial);
    }
    const recorder = options.trajectory ? trajectoryRecorder(initial, members.length, channels, perSample, keptSteps, guidance !== null) : null;
    let last: SamplerStep | null = null;
    const previews = previewClock(options.previewEvery, options.previewIntervalMs ?? 0, stepCount);
    // The input of the step under way: a schedule that skips the classifier on the last step
    // leaves the sample's confidence to be asked of it afterwards, where a run at scale 0 asks it.
    const keepsLastInput = gradient !== null && finalSchedule.kind !== 'constant';
    const lastInput = keepsLastInput ? new Float32Array(runBatch * perSample) : null;
    if (lastInput !== null && options.trajectory) lastInput.set(initial);

    const firstInput = {
      diffusion: plan.diffusion,
      shape,
      denoise: cancellable(denoise, options.cancelled),
      variance: plan.variance,
      guidance,
      clipDenoised: request.clipDenoised,
      eta: request.eta,
      noise,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const afterSwitch =
      plan.switchAt === null || switched === null
        ? null
        : {
            step: plan.switchAt.step,
            sampler: samplers[plan.switchAt.sampler],
            input: { ...firstInput, denoise: cancellable(switched.denoise, options.cancelled), guidance: switched.guidance, eta: plan.switchAt.eta },
          };
    const steps =
      device === null
        ? switchedSampling({ sampler: samplers[request.sampler], input: firstInput }, afterSwitch)
        : device.sample({
            shape,
            noise,
            timings,
            // x after the next-to-last step is the last step's input, which a schedule may ask the classifier about.
            hostCopyAt: (step) => previews.due(step) || (lastInput !== null && step === stepCount - 2),
            ...(options.cancelled ? { cancelled: options.cancelled } : {}),
          });
    for await (const step of steps) {
      recorder?.record(step);
      last = step;
      const isLast = step.step === stepCount - 1;
      if (lastInput !== null && !isLast) lastInput.set(step.xt);
      const wantPreview = previews.due(step.step);
      events.progress({
        batch,
        batches,
        step: step.step,
        steps: stepCount,
        t: step.t,
        samplesDone: first,
        total,
        previews: wantPreview
          ? members.map((member, position) => ({
              index: member.index,
              width: size,
              height: size,
              rgba: toRgba(step.predX0.subarray(position * perSample, (position + 1) * perSample), { channels, height: size, width: size }),
            }))
          : [],
        ...(step.classProbability ? { classProbability: [...step.classProbability.subarray(0, members.length)] } : {}),
        ...(step.gradNorm ? { gradNorm: [...step.gradNorm.subarray(0, members.length)] } : {}),
      });
    }

    if (last === null) throw new Error('The sampler finished without a step.');
    const final = last;
    // A schedule that leaves out the last step skipped the classifier there, so it is asked once
    // about that step's input at that step's t; a one-step run without a trajectory has only x₀.
    const confidenceInput = stepCount > 1 || options.trajectory ? lastInput : final.xt;
    const finalConfidence = final.classProbability ?? (gradient === null || confidenceInput === null ? null : (await gradient(confidenceInput, final.t)).classProbability);
    members.forEach((member, position) => {
      const image = final.xt.slice(position * perSample, (position + 1) * perSample);
      events.sample({
        index: member.index,
        seed: member.seed,
        classIndex: plan.switchAt?.classIndex ?? request.classIndex,
        channels,
        height: size,
        width: size,
        image,
        pixels: interleave(toUint8(image), channels, size * size),
        classProbability: finalConfidence === null ? null : (finalConfidence[position] as number),
        ...(recorder ? { trajectory: recorder.forSample(position) } : {}),
      });
    });
  }
  return { ...timings, totalMs: performance.now() - started };
}
