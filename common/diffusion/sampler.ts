/**
 * The one signature every sampler has: an async generator that takes the model (and the
 * optional classifier gradient) as functions and yields after every step, so the caller decides
 * about previews, trajectories and cancellation.
 */
import type { GuidanceSchedule } from './guidance-schedule';
import type { NoiseSource } from './rng';
import type { SpacedDiffusion } from './respace';

export interface BatchShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
}

/**
 * The UNet: xₜ [B, C, H, W] at original timestep index `t` → ε [B, C, H, W], or [B, 2C, H, W]
 * (ε then the variance interpolation v) for learned-range variance. Class labels are bound by the caller.
 */
export type DenoiseFn = (xt: Float32Array, t: number) => Promise<Float32Array>;

/**
 * The UNet with the class labels given per call (one per sample of `xt`, which may hold any
 * batch size): what classifier-free guidance needs to run y and the null class in one call.
 */
export type DenoiseWithLabelsFn = (xt: Float32Array, t: number, labels: readonly number[]) => Promise<Float32Array>;

export interface ClassifierGradient {
  /** ∇ₓ log p(y|xₜ) per element [B, C, H, W], not yet multiplied by the guidance scale. */
  grad: Float32Array;
  /** p(y|xₜ) of each sample [B]. */
  classProbability: Float32Array;
  /** The classifier's logits over every class [B, K], where the graph gives them. */
  logits?: Float32Array;
}

/** The noisy classifier at original timestep index `t`, labels bound by the caller. */
export type ClassifierGradientFn = (xt: Float32Array, t: number) => Promise<ClassifierGradient>;

export interface Guidance {
  gradient: ClassifierGradientFn;
  /** s in ∇ₓ log p(y|xₜ)·s. */
  scale: number;
  /**
   * How s changes over the steps; constant when absent. Where it turns s into 0 the classifier is
   * not run (no classProbability for that step); a run with s = 0 throughout still runs it.
   */
  schedule?: GuidanceSchedule;
}

/** How σ²ₜ of the reverse step is chosen. */
export type VarianceType = 'learned-range' | 'fixed-small' | 'fixed-large';

/**
 * Where a sampler continues a run instead of starting from x_T: `xt` is x before step `step`
 * (the output of step − 1, [B, C, H, W]), and the steps from `step` on are taken with the same
 * noise streams a whole run would use there.
 */
export interface SamplerStart {
  step: number;
  xt: Float32Array;
}

export interface SamplerInput {
  diffusion: SpacedDiffusion;
  shape: BatchShape;
  denoise: DenoiseFn;
  variance: VarianceType;
  guidance: Guidance | null;
  clipDenoised: boolean;
  /** η of DDIM (0: deterministic); DDPM ignores it. */
  eta: number;
  noise: NoiseSource;
  /** Continue from this step and x; absent: from step 0 and x_T drawn from `noise`. */
  start?: SamplerStart;
  signal?: AbortSignal;
}

/**
 * One finished step. `xt` and `predX0` are buffers the sampler reuses: they are valid until the
 * generator is resumed; copy them to keep them.
 */
export interface SamplerStep {
  /** 0 for the first (noisiest) step, S − 1 for the last. */
  step: number;
  /** Original timestep index this step started from. */
  t: number;
  /** x after this step (x_{t−1} in respaced indexing), [B, C, H, W]. */
  xt: Float32Array;
  /** x̂₀ predicted at this step, [B, C, H, W]. */
  predX0: Float32Array;
  /** p(y|xₜ) per sample, for guided runs. */
  classProbability?: Float32Array;
  /** ‖∇ₓ log p(y|xₜ)‖₂ per sample (before scaling), for guided runs. */
  gradNorm?: Float32Array;
  /** ∇ₓ log p(y|xₜ) [B, C, H, W] (before scaling) and the logits [B, K] this step's classifier pass gave, at `t`, for the input of this step. */
  classifierGrad?: Float32Array;
  classifierLogits?: Float32Array;
}

export type Sampler = (input: SamplerInput) => AsyncGenerator<SamplerStep, void, void>;

/** Raised when x stops being finite; names the step so a user can lower the scale or step count. */
export class SamplingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly t: number,
    readonly sample: number,
  ) {
    super(`Sampling diverged: x became NaN or infinite at step ${step + 1} (timestep ${t}) in sample ${sample + 1} of the batch. Lower the guidance scale or check the model files.`);
    this.name = 'SamplingDivergedError';
  }
}

export function elementsOf(shape: BatchShape): number {
  return shape.batch * shape.channels * shape.height * shape.width;
}
