/**
 * Shared pieces of a reverse step: p(xₜ₋₁|xₜ)'s mean and variance from the model output
 * (p_mean_variance), the classifier gradient, and the divergence check.
 */
import { scaleAt } from './guidance-schedule';
import type { SpacedDiffusion } from './respace';
import { SamplingDivergedError, elementsOf, type BatchShape, type ClassifierGradient, type Guidance, type SamplerInput, type SamplerStep, type VarianceType } from './sampler';

/** Buffers one sampler run reuses for every step (no per-step allocation). */
export interface StepBuffers {
  predX0: Float32Array;
  eps: Float32Array;
  /** log σ² per element (learned-range variance differs per element). */
  logVariance: Float32Array;
  mean: Float32Array;
  noise: Float32Array;
  next: Float32Array;
}

export function allocateStepBuffers(shape: BatchShape): StepBuffers {
  const count = elementsOf(shape);
  return {
    predX0: new Float32Array(count),
    eps: new Float32Array(count),
    logVariance: new Float32Array(count),
    mean: new Float32Array(count),
    noise: new Float32Array(count),
    next: new Float32Array(count),
  };
}

/**
 * p_mean_variance at respaced step i: splits the model output into ε (and v), writes
 * x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε (clipped to [−1, 1] when asked), log σ², and μ = c₁x̂₀ + c₂xₜ.
 */
export function pMeanVariance(
  diffusion: SpacedDiffusion,
  index: number,
  shape: BatchShape,
  xt: Float32Array,
  modelOutput: Float32Array,
  variance: VarianceType,
  clipDenoised: boolean,
  out: StepBuffers,
): void {
  const perSample = shape.channels * shape.height * shape.width;
  const outputChannels = variance === 'learned-range' ? 2 : 1;
  if (modelOutput.length !== shape.batch * perSample * outputChannels) {
    throw new Error(`The UNet returned ${modelOutput.length} values but a batch of ${shape.batch}×${shape.channels * outputChannels}×${shape.height}×${shape.width} was expected (is learn_sigma right in the manifest?).`);
  }
  const sqrtRecipAlphaBar = diffusion.sqrtRecipAlphasCumprod[index] as number;
  const sqrtRecipm1AlphaBar = diffusion.sqrtRecipm1AlphasCumprod[index] as number;
  const coef1 = diffusion.posteriorMeanCoef1[index] as number;
  const coef2 = diffusion.posteriorMeanCoef2[index] as number;
  const minLog = diffusion.posteriorLogVarianceClipped[index] as number;
  const maxLog = diffusion.logBetas[index] as number;
  const fixedLog = variance === 'fixed-large' ? (diffusion.fixedLargeLogVariance[index] as number) : minLog;
  for (let sample = 0; sample < shape.batch; sample++) {
    const outputBase = sample * perSample * outputChannels;
    const base = sample * perSample;
    for (let k = 0; k < perSample; k++) {
      const i = base + k;
      const x = xt[i] as number;
      const eps = modelOutput[outputBase + k] as number;
      out.eps[i] = eps;
      // x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ − 1)·ε
      let predX0 = sqrtRecipAlphaBar * x - sqrtRecipm1AlphaBar * eps;
      if (clipDenoised) predX0 = predX0 < -1 ? -1 : predX0 > 1 ? 1 : predX0;
      out.predX0[i] = predX0;
      // μ̃ = c₁·x̂₀ + c₂·xₜ
      out.mean[i] = coef1 * predX0 + coef2 * x;
      if (variance === 'learned-range') {
        // log σ² = frac·log βₜ + (1 − frac)·log β̃ₜ, frac = (v + 1)/2
        const fraction = ((modelOutput[outputBase + perSample + k] as number) + 1) / 2;
        out.logVariance[i] = fraction * maxLog + (1 - fraction) * minLog;
      } else {
        out.logVariance[i] = fixedLog;
      }
    }
  }
}

/** Evaluates the classifier and returns its gradient with the per-sample gradient norms. */
export async function classifierGradient(
  guidance: Guidance,
  xt: Float32Array,
  t: number,
  shape: BatchShape,
): Promise<ClassifierGradient & { gradNorm: Float32Array }> {
  const result = await guidance.gradient(xt, t);
  if (result.grad.length !== xt.length) {
    throw new Error(`The classifier gradient holds ${result.grad.length} values but x holds ${xt.length}.`);
  }
  const perSample = xt.length / shape.batch;
  const gradNorm = new Float32Array(shape.batch);
  for (let sample = 0; sample < shape.batch; sample++) {
    let sumOfSquares = 0;
    for (let i = sample * perSample; i < (sample + 1) * perSample; i++) sumOfSquares += (result.grad[i] as number) ** 2;
    gradNorm[sample] = Math.sqrt(sumOfSquares);
  }
  return { ...result, gradNorm };
}

/** Throws SamplingDivergedError at the first NaN or infinity in `x`. */
export function assertFinite(x: Float32Array, shape: BatchShape, step: number, t: number): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i] as number)) {
      throw new SamplingDivergedError(step, t, Math.floor(i / (x.length / shape.batch)));
    }
  }
}

/**
 * x before the sampler's first step and that step: x_T drawn from the noise source at step 0, or a
 * copy of the given x when the run continues from a later step.
 */
export function startingPoint(input: SamplerInput): { xt: Float32Array; firstStep: number } {
  const xt = new Float32Array(elementsOf(input.shape));
  if (input.start === undefined) {
    input.noise.initial(xt);
    return { xt, firstStep: 0 };
  }
  const { step, xt: given } = input.start;
  const stepCount = input.diffusion.betas.length;
  if (!Number.isInteger(step) || step < 0 || step >= stepCount) throw new Error(`A sampler can continue from steps 0 to ${stepCount - 1}, not from step ${step}.`);
  if (given.length !== xt.length) throw new Error(`The x to continue from holds ${given.length} values but the batch needs ${xt.length}.`);
  xt.set(given);
  return { xt, firstStep: step };
}

/** Respaced index of step `step` in sampling order (S − 1 first). */
export function respacedIndex(diffusion: SpacedDiffusion, step: number): number {
  return diffusion.betas.length - 1 - step;
}

export interface EvaluatedStep {
  /** Respaced index i of this step. */
  index: number;
  /** Original timestep index kᵢ fed to the networks. */
  t: number;
  /** The classifier's gradient at xₜ; null when unguided or when the schedule turns s into 0 here. */
  guided: (ClassifierGradient & { gradNorm: Float32Array }) | null;
  /** s at this step from the guidance schedule (0 when unguided). */
  guidanceScale: number;
}

/**
 * The part every sampler shares: ε_θ(xₜ, t) (and v) → x̂₀, μ̃ and log σ² in `buffers`, then the
 * classifier gradient at xₜ for guided steps (those where the schedule's s is not 0). Checks the
 * abort signal after each network call.
 */
export async function evaluateStep(input: SamplerInput, xt: Float32Array, step: number, buffers: StepBuffers): Promise<EvaluatedStep> {
  const { diffusion, shape, guidance, signal } = input;
  signal?.throwIfAborted();
  const index = respacedIndex(diffusion, step);
  const t = diffusion.timestepMap[index] as number;
  const modelOutput = await input.denoise(xt, t);
  signal?.throwIfAborted();
  pMeanVariance(diffusion, index, shape, xt, modelOutput, input.variance, input.clipDenoised, buffers);
  const guidanceScale = guidance === null ? 0 : scaleAt(guidance.schedule ?? { kind: 'constant' }, guidance.scale, t, diffusion.originalSteps);
  // Where the schedule turns the run's scale into 0 the classifier is not run at all (what the
  // interval saves); a run at scale 0 throughout still asks it for p(y|xₜ), the sample's confidence.
  const skipped = guidance === null || (guidanceScale === 0 && guidance.scale !== 0);
  const guided = skipped ? null : await classifierGradient(guidance, xt, t, shape);
  signal?.throwIfAborted();
  return { index, t, guided, guidanceScale };
}

/** The yielded record of a finished step. */
export function stepRecord(step: number, evaluated: EvaluatedStep, xt: Float32Array, predX0: Float32Array): SamplerStep {
  const { t, guided } = evaluated;
  return {
    step,
    t,
    xt,
    predX0,
    ...(guided === null ? {} : { classProbability: guided.classProbability, gradNorm: guided.gradNorm, classifierGrad: guided.grad }),
    ...(guided?.logits === undefined ? {} : { classifierLogits: guided.logits }),
  };
}
