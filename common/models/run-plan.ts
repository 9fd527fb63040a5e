/**
 * What a run request means for one model: which label the UNet sees, whether the classifier
 * guides, the respaced process and the variance type. Every user mistake becomes a sentence.
 */
import { DEFAULT_CFG_SCALE, GuidanceMode, type RunRequest, usesClassifier, usesClassifierFree } from '../contract/run-request';
import { checkGuidanceSchedule, constantGuidance, type GuidanceSchedule } from '../diffusion/guidance-schedule';
import { ddimGuidanceRisk } from '../diffusion/guidance-safety';
import { spacedDiffusion, type SpacedDiffusion } from '../diffusion/respace';
import type { VarianceType } from '../diffusion/sampler';
import type { ModelManifest } from './manifest';

export interface RunPlan {
  diffusion: SpacedDiffusion;
  /** Label fed to the UNet for every sample, or null when the UNet takes none. */
  unetLabel: number | null;
  /** Label whose log p(y|xₜ) gradient guides sampling, or null for unguided runs. */
  guidanceLabel: number | null;
  variance: VarianceType;
  channels: number;
  size: number;
  /** Classifier-free guidance: y, the null class ∅ and w; null when the UNet sees one label. */
  classifierFree: { label: number; nullClass: number; weight: number } | null;
  /** How the classifier scale changes over t (constant when the request names none). */
  guidanceSchedule: GuidanceSchedule;
}

/** What the planner reads of a request; clipping defaults to on, as in the contract. */
export type PlannedSettings = Pick<RunRequest, 'classIndex' | 'mode' | 'scale' | 'sampler' | 'steps' | 'eta' | 'seeds'> &
  Partial<Pick<RunRequest, 'clipDenoised' | 'cfgScale' | 'guidanceSchedule'>>;

export class RunRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRequestError';
  }
}

/** Why a model's graphs cannot run a guidance mode, as a sentence; null when they can. */
export function modeRefusal(manifest: ModelManifest, mode: GuidanceMode): string | null {
  if (usesClassifier(mode) && manifest.classifier === null) {
    return `The mode "${mode}" needs a classifier, but "${manifest.name}" has none. Use the "conditional" mode.`;
  }
  if (usesClassifierFree(mode)) {
    if (!manifest.unet.class_cond || manifest.classes.null_class === null) {
      return `The mode "${mode}" needs a UNet trained with a "no class" label, and "${manifest.name}" has none. Use "conditional" or "conditional+classifier".`;
    }
    return null;
  }
  if (mode === 'unconditional+classifier') {
    if (manifest.unet.class_cond && manifest.classes.null_class === null) {
      return `"${manifest.name}" has a class-conditional UNet without a "no class" label, so it cannot sample unconditionally. Use "conditional" or "conditional+classifier".`;
    }
    return null;
  }
  if (!manifest.unet.class_cond) {
    return `The UNet of "${manifest.name}" takes no class, so the mode "${mode}" is not available. Use "unconditional+classifier".`;
  }
  return null;
}

/** The guidance modes a model's graphs can run, in the contract's order. */
export function allowedModes(manifest: ModelManifest): GuidanceMode[] {
  return GuidanceMode.options.filter((mode) => modeRefusal(manifest, mode) === null);
}

/**
 * The sentence for classifier guidance through the score that would start where ᾱ is so small it
 * saturates (DDIM on a plain respacing), or null when the run is safe.
 */
export function guidanceStartRefusal(manifest: ModelManifest, settings: Pick<PlannedSettings, 'mode' | 'sampler' | 'steps' | 'clipDenoised'>): string | null {
  if (!usesClassifier(settings.mode) || settings.sampler === 'ddpm') return null;
  try {
    const risk = ddimGuidanceRisk({ schedule: manifest.diffusion.noise_schedule, steps: manifest.diffusion.steps }, settings.steps, {
      sampler: settings.sampler,
      clipDenoised: settings.clipDenoised ?? true,
    });
    return risk?.message ?? null;
  } catch {
    // A spacing the process cannot use has its own sentence, which planRun gives.
    return null;
  }
}

export function planRun(manifest: ModelManifest, request: PlannedSettings): RunPlan {
  const { classes } = manifest;
  if (!Number.isInteger(request.classIndex) || request.classIndex < 0 || request.classIndex >= classes.count) {
    throw new RunRequestError(`Class ${request.classIndex} is out of range: "${manifest.name}" has classes 0 to ${classes.count - 1}.`);
  }
  if (!Number.isFinite(request.scale) || request.scale < 0) {
    throw new RunRequestError(`The guidance scale must be a number of 0 or more, got ${request.scale}.`);
  }
  if (!Number.isFinite(request.eta) || request.eta < 0 || request.eta > 1) {
    throw new RunRequestError(`η must be between 0 and 1, got ${request.eta}.`);
  }
  if (request.seeds.length === 0) throw new RunRequestError('A run needs at least one seed.');
  const refusal = modeRefusal(manifest, request.mode);
  if (refusal !== null) throw new RunRequestError(refusal);
  const guided = usesClassifier(request.mode);
  const unetLabel = request.mode === 'unconditional+classifier' ? (manifest.unet.class_cond ? classes.null_class : null) : request.classIndex;
  let diffusion: SpacedDiffusion;
  let guidanceSchedule: GuidanceSchedule;
  try {
    diffusion = spacedDiffusion(manifest.diffusion.noise_schedule, manifest.diffusion.steps, request.steps);
    guidanceSchedule = checkGuidanceSchedule(request.guidanceSchedule ?? constantGuidance, manifest.diffusion.steps);
  } catch (error) {
    throw new RunRequestError((error as Error).message);
  }
  const startRefusal = guidanceStartRefusal(manifest, request);
  if (startRefusal !== null) throw new RunRequestError(startRefusal);
  const weight = request.cfgScale ?? DEFAULT_CFG_SCALE;
  return {
    classifierFree: usesClassifierFree(request.mode) ? { label: request.classIndex, nullClass: classes.null_class as number, weight } : null,
    guidanceSchedule,
    diffusion,
    unetLabel,
    guidanceLabel: guided ? request.classIndex : null,
    // Models without a learned variance use the reference code's default, β (fixed large).
    variance: manifest.diffusion.learn_sigma ? 'learned-range' : 'fixed-large',
    channels: manifest.image.channels,
    size: manifest.image.size,
  };
}

/** Memory a batch's recorded trajectory (xₜ and x̂₀ of every recorded step) may take. */
export const TRAJECTORY_BUDGET_BYTES = 256 * 1024 * 1024;

/** Bytes one recorded step of one batch takes: xₜ and x̂₀, float32, for every sample. */
export function trajectoryStepBytes(batch: number, valuesPerSample: number): number {
  return 2 * batch * valuesPerSample * Float32Array.BYTES_PER_ELEMENT;
}

/**
 * The steps (0-based, ascending) whose xₜ and x̂₀ are kept: all of them when they fit in the
 * budget, else an evenly spaced subset that always holds the first and the last step.
 * Two steps are kept even when they alone exceed the budget, so a trajectory has both ends.
 */
export function recordedSteps(stepCount: number, batch: number, valuesPerSample: number, budgetBytes: number = TRAJECTORY_BUDGET_BYTES): number[] {
  const fitting = Math.floor(budgetBytes / trajectoryStepBytes(batch, valuesPerSample));
  const kept = Math.min(stepCount, Math.max(fitting, 2));
  if (kept === stepCount) return Array.from({ length: stepCount }, (_, step) => step);
  return Array.from({ length: kept }, (_, position) => Math.round((position * (stepCount - 1)) / (kept - 1)));
}

/** The sentence the trajectory viewer shows when fewer steps were kept than were taken, else null. */
export function trajectoryNote(recorded: number, taken: number, budgetBytes: number = TRAJECTORY_BUDGET_BYTES): string | null {
  if (recorded >= taken) return null;
  const budget = budgetBytes >= 1024 * 1024 ? `${Math.round(budgetBytes / 1024 / 1024)} MiB` : `${Math.round(budgetBytes / 1024)} KiB`;
  return `Recorded ${recorded} of ${taken} steps to stay within the ${budget} trajectory memory budget.`;
}
