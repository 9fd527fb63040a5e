/**
 * What a run request means for one model: which label the UNet sees, whether the classifier
 * guides, the respaced process and the variance type. Every user mistake becomes a sentence.
 */
import { DEFAULT_CFG_SCALE, GuidanceMode, type RunRequest, type SamplerName, type SwitchAt, usesClassifier, usesClassifierFree } from '../contract/run-request';
import { checkGuidanceSchedule, constantGuidance, type GuidanceSchedule } from '../diffusion/guidance-schedule';
import { ddimGuidanceRisk, MINIMUM_GUIDED_ALPHA_BAR } from '../diffusion/guidance-safety';
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
  /** The settings that take over at a later step, or null when the run keeps one set throughout. */
  switchAt: SwitchPlan | null;
}

/** What changes at the switch step: the labels and guidance of the later steps, and their sampler. */
export interface SwitchPlan {
  /** First sampling step (0-based) taken with the switched settings. */
  step: number;
  /** The class the later steps steer toward, which the finished sample is recorded as. */
  classIndex: number;
  scale: number;
  sampler: SamplerName;
  eta: number;
  unetLabel: number | null;
  guidanceLabel: number | null;
  classifierFree: RunPlan['classifierFree'];
  guidanceSchedule: GuidanceSchedule;
}

/** What the planner reads of a request; clipping defaults to on, as in the contract. */
export type PlannedSettings = Pick<RunRequest, 'classIndex' | 'mode' | 'scale' | 'sampler' | 'steps' | 'eta' | 'seeds'> &
  Partial<Pick<RunRequest, 'clipDenoised' | 'cfgScale' | 'guidanceSchedule' | 'switchAt'>>;

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

/** The request's settings with the switch's changes applied: what the steps from the switch on run with. */
export function switchedSettings(request: PlannedSettings, change: SwitchAt): PlannedSettings {
  const { switchAt: _switch, ...settings } = request;
  return {
    ...settings,
    ...(change.classIndex === undefined ? {} : { classIndex: change.classIndex }),
    ...(change.scale === undefined ? {} : { scale: change.scale }),
    ...(change.cfgScale === undefined ? {} : { cfgScale: change.cfgScale }),
    ...(change.guidanceSchedule === undefined ? {} : { guidanceSchedule: change.guidanceSchedule }),
    ...(change.sampler === undefined ? {} : { sampler: change.sampler }),
    ...(change.eta === undefined ? {} : { eta: change.eta }),
  };
}

/** Why a switch cannot run, as a sentence naming the step, or null when it can. */
function switchRefusal(manifest: ModelManifest, request: PlannedSettings, change: SwitchAt, diffusion: SpacedDiffusion): string | null {
  const stepCount = diffusion.betas.length;
  const at = `The switch at step ${change.step}`;
  if (!Number.isInteger(change.step) || change.step < 1 || change.step > stepCount - 1) {
    return stepCount < 2
      ? `A run of ${stepCount} step cannot switch settings part way; take more steps or leave the switch out.`
      : `${at} is outside this run: with ${stepCount} steps it must be from 1 to ${stepCount - 1} (step 0 always uses the run's own settings).`;
  }
  const changes = [change.classIndex, change.scale, change.cfgScale, change.guidanceSchedule, change.sampler, change.eta].filter((value) => value !== undefined);
  if (changes.length === 0) return `${at} changes nothing; give it a class, a scale, a schedule, a sampler, a classifier-free weight or η.`;
  if (change.classIndex !== undefined && (change.classIndex < 0 || change.classIndex >= manifest.classes.count)) {
    return `${at} names class ${change.classIndex}, but "${manifest.name}" has classes 0 to ${manifest.classes.count - 1}.`;
  }
  if (change.classIndex !== undefined && request.mode === 'unconditional+classifier' && manifest.classifier === null) {
    return `${at} changes the class, which in the mode "${request.mode}" needs a classifier, and "${manifest.name}" has none.`;
  }
  if ((change.scale !== undefined || change.guidanceSchedule !== undefined) && !usesClassifier(request.mode)) {
    return `${at} changes the classifier scale, but the mode "${request.mode}" runs no classifier (and "${manifest.name}" ${manifest.classifier === null ? 'has none' : 'has one only for the classifier modes'}); pick a mode with "+classifier" or leave the scale out.`;
  }
  if (change.cfgScale !== undefined && !usesClassifierFree(request.mode)) {
    return `${at} changes the classifier-free weight, but the mode "${request.mode}" does not mix in the null class${manifest.classes.null_class === null ? ` (and "${manifest.name}" has none)` : ''}; use a "classifier-free" mode or leave the weight out.`;
  }
  return null;
}

/**
 * The first-step check of score guidance, at the switch: the switched sampler starts at step k,
 * so what saturates is a tiny ᾱ there, not at the run's first step (which keeps the request's sampler).
 */
function switchStartRefusal(settings: PlannedSettings, step: number, diffusion: SpacedDiffusion): string | null {
  if (!usesClassifier(settings.mode) || settings.sampler === 'ddpm') return null;
  if (settings.sampler === 'dpmpp2m' && (settings.clipDenoised ?? true)) return null;
  const index = diffusion.betas.length - 1 - step;
  const alphaBar = diffusion.alphasCumprod[index] as number;
  if (alphaBar >= MINIMUM_GUIDED_ALPHA_BAR) return null;
  const name = settings.sampler === 'ddim' ? 'DDIM' : 'DPM-Solver++(2M)';
  return `The switch to ${name} at step ${step} starts at t = ${diffusion.timestepMap[index] as number} where ᾱ = ${alphaBar.toExponential(1)}, so classifier guidance saturates there; switch at a later step.`;
}

function planSwitch(manifest: ModelManifest, request: PlannedSettings, change: SwitchAt, diffusion: SpacedDiffusion): SwitchPlan {
  const refusal = switchRefusal(manifest, request, change, diffusion);
  if (refusal !== null) throw new RunRequestError(refusal);
  const settings = switchedSettings(request, change);
  const startRefusal = switchStartRefusal(settings, change.step, diffusion);
  if (startRefusal !== null) throw new RunRequestError(startRefusal);
  let plan: RunPlan;
  try {
    // The switched settings start at step k, not at x_T: the first-step check above replaces planRun's.
    plan = planSettings(manifest, settings, { checkGuidanceStart: false });
  } catch (error) {
    throw new RunRequestError(`After the switch at step ${change.step}: ${(error as Error).message}`);
  }
  return {
    step: change.step,
    classIndex: settings.classIndex,
    scale: settings.scale,
    sampler: settings.sampler,
    eta: settings.eta,
    unetLabel: plan.unetLabel,
    guidanceLabel: plan.guidanceLabel,
    classifierFree: plan.classifierFree,
    guidanceSchedule: plan.guidanceSchedule,
  };
}

export function planRun(manifest: ModelManifest, request: PlannedSettings): RunPlan {
  const plan = planSettings(manifest, request, { checkGuidanceStart: true });
  return request.switchAt === undefined ? plan : { ...plan, switchAt: planSwitch(manifest, request, request.switchAt, plan.diffusion) };
}

function planSettings(manifest: ModelManifest, request: PlannedSettings, checks: { checkGuidanceStart: boolean }): RunPlan {
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
  const startRefusal = checks.checkGuidanceStart ? guidanceStartRefusal(manifest, request) : null;
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
    switchAt: null,
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
