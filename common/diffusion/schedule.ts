/**
 * Noise schedules βₜ (float64), and the named coefficient arrays of a Gaussian diffusion
 * computed from them once (Ho et al. 2020; Nichol & Dhariwal 2021).
 */

export type NoiseScheduleName = 'linear' | 'cosine';

/** βₜ for t = 0 … T−1. */
export function betasForSchedule(name: NoiseScheduleName, steps: number): Float64Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`A noise schedule needs a positive whole number of steps, got ${steps}.`);
  return name === 'linear' ? linearBetas(steps) : cosineBetas(steps);
}

/** Linear from 1e-4 to 0.02, scaled by 1000/T so other T keep the same total noise. */
function linearBetas(steps: number): Float64Array {
  const scale = 1000 / steps;
  const start = scale * 0.0001;
  const end = scale * 0.02;
  const betas = new Float64Array(steps);
  // Same arithmetic as numpy.linspace: start + i·delta, last value exactly `end`.
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) betas[i] = start + i * delta;
  if (steps > 1) betas[steps - 1] = end;
  return betas;
}

/** ᾱ(t) = cos²(((t/T)+0.008)/1.008·π/2), βₜ = min(1 − ᾱ(t+1)/ᾱ(t), 0.999). */
function cosineBetas(steps: number): Float64Array {
  const alphaBar = (fraction: number): number => Math.cos(((fraction + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const betas = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / steps) / alphaBar(i / steps), 0.999);
  }
  return betas;
}

/** Every per-timestep coefficient the samplers read, in float64, indexed by (respaced) timestep. */
export interface DiffusionCoefficients {
  readonly steps: number;
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly alphasCumprodPrev: Float64Array;
  readonly sqrtRecipAlphasCumprod: Float64Array;
  readonly sqrtRecipm1AlphasCumprod: Float64Array;
  /** β̃ₜ = βₜ(1−ᾱₜ₋₁)/(1−ᾱₜ) */
  readonly posteriorVariance: Float64Array;
  /** log β̃ₜ with the t = 0 entry replaced by log β̃₁ (β̃₀ = 0). */
  readonly posteriorLogVarianceClipped: Float64Array;
  /** c₁ = βₜ√ᾱₜ₋₁/(1−ᾱₜ) */
  readonly posteriorMeanCoef1: Float64Array;
  /** c₂ = (1−ᾱₜ₋₁)√αₜ/(1−ᾱₜ) */
  readonly posteriorMeanCoef2: Float64Array;
  /** log βₜ: the upper end of the learned variance range. */
  readonly logBetas: Float64Array;
  /** log of (β̃₁, β₁, β₂, …): the "fixed large" variance. */
  readonly fixedLargeLogVariance: Float64Array;
}

export function diffusionCoefficients(betas: Float64Array): DiffusionCoefficients {
  const steps = betas.length;
  const make = (): Float64Array => new Float64Array(steps);
  const alphasCumprod = make();
  const alphasCumprodPrev = make();
  const sqrtRecipAlphasCumprod = make();
  const sqrtRecipm1AlphasCumprod = make();
  const posteriorVariance = make();
  const posteriorLogVarianceClipped = make();
  const posteriorMeanCoef1 = make();
  const posteriorMeanCoef2 = make();
  const logBetas = make();
  const fixedLargeLogVariance = make();
  let product = 1;
  for (let t = 0; t < steps; t++) {
    const beta = betas[t] as number;
    if (!(beta > 0 && beta <= 1)) throw new Error(`Every βₜ must lie in (0, 1]; β${t} = ${beta}.`);
    alphasCumprodPrev[t] = product;
    product *= 1 - beta;
    alphasCumprod[t] = product;
  }
  for (let t = 0; t < steps; t++) {
    const beta = betas[t] as number;
    const alphaBar = alphasCumprod[t] as number;
    const alphaBarPrev = alphasCumprodPrev[t] as number;
    sqrtRecipAlphasCumprod[t] = Math.sqrt(1 / alphaBar);
    sqrtRecipm1AlphasCumprod[t] = Math.sqrt(1 / alphaBar - 1);
    posteriorVariance[t] = (beta * (1 - alphaBarPrev)) / (1 - alphaBar);
    posteriorMeanCoef1[t] = (beta * Math.sqrt(alphaBarPrev)) / (1 - alphaBar);
    posteriorMeanCoef2[t] = ((1 - alphaBarPrev) * Math.sqrt(1 - beta)) / (1 - alphaBar);
    logBetas[t] = Math.log(beta);
  }
  const firstPosteriorVariance = steps > 1 ? (posteriorVariance[1] as number) : (posteriorVariance[0] as number);
  for (let t = 0; t < steps; t++) {
    posteriorLogVarianceClipped[t] = Math.log(t === 0 ? firstPosteriorVariance : (posteriorVariance[t] as number));
    fixedLargeLogVariance[t] = t === 0 ? Math.log(firstPosteriorVariance) : (logBetas[t] as number);
  }
  return {
    steps,
    betas: Float64Array.from(betas),
    alphasCumprod,
    alphasCumprodPrev,
    sqrtRecipAlphasCumprod,
    sqrtRecipm1AlphasCumprod,
    posteriorVariance,
    posteriorLogVarianceClipped,
    posteriorMeanCoef1,
    posteriorMeanCoef2,
    logBetas,
    fixedLargeLogVariance,
  };
}
