/**
 * DDIM sampling (Song et al. 2021) with classifier guidance on the score
 * (Dhariwal & Nichol 2021, Algorithm 2: condition_score), η interpolating to DDPM-like noise.
 */
import { conditionScore } from './guidance';
import { allocateStepBuffers, assertFinite, evaluateStep, startingPoint, stepRecord } from './reverse-step';
import type { Sampler, SamplerInput, SamplerStep } from './sampler';

export const ddimSample: Sampler = async function* ddimSample(input: SamplerInput): AsyncGenerator<SamplerStep, void, void> {
  const { diffusion, shape, noise, eta } = input;
  if (!(eta >= 0 && eta <= 1)) throw new Error(`η must be between 0 and 1, got ${eta}.`);
  const buffers = allocateStepBuffers(shape);
  const start = startingPoint(input);
  let xt: Float32Array = start.xt;
  for (let step = start.firstStep; step < diffusion.betas.length; step++) {
    // 1. ε_θ(xₜ, t) → x̂₀ (clipped when asked); ∇ₓ log p(y|xₜ) when guided
    const evaluated = await evaluateStep(input, xt, step, buffers);
    const { index } = evaluated;
    const alphaBar = diffusion.alphasCumprod[index] as number;
    const alphaBarPrev = diffusion.alphasCumprodPrev[index] as number;
    const sqrtRecipAlphaBar = diffusion.sqrtRecipAlphasCumprod[index] as number;
    const sqrtRecipm1AlphaBar = diffusion.sqrtRecipm1AlphasCumprod[index] as number;

    // 2. condition_score: ε = (√(1/ᾱₜ)·xₜ − x̂₀)/√(1/ᾱₜ−1); ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ); x̂₀ from ε'
    if (evaluated.guided !== null) {
      conditionScore(buffers.predX0, xt, evaluated.guided.grad, evaluated.guidanceScale, { alphaBar, sqrtRecipAlphaBar, sqrtRecipm1AlphaBar });
    }

    // 3. σₜ = η·√((1−ᾱₜ₋₁)/(1−ᾱₜ))·√(1−ᾱₜ/ᾱₜ₋₁)
    const sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
    const directionWeight = Math.sqrt(1 - alphaBarPrev - sigma * sigma);
    const sqrtAlphaBarPrev = Math.sqrt(alphaBarPrev);

    // 4. z ~ N(0, I) when σ > 0, none at the last step (t = 0)
    const noiseWeight = index > 0 ? sigma : 0;
    if (noiseWeight > 0) noise.step(buffers.noise, step);

    // 5. xₜ₋₁ = √ᾱₜ₋₁·x̂₀ + √(1−ᾱₜ₋₁−σ²)·ε + σ·z, with ε re-derived from x̂₀
    for (let i = 0; i < xt.length; i++) {
      const predX0 = buffers.predX0[i] as number;
      const eps = (sqrtRecipAlphaBar * (xt[i] as number) - predX0) / sqrtRecipm1AlphaBar;
      const z = noiseWeight > 0 ? (buffers.noise[i] as number) : 0;
      buffers.next[i] = sqrtAlphaBarPrev * predX0 + directionWeight * eps + noiseWeight * z;
    }
    assertFinite(buffers.next, shape, step, evaluated.t);
    [xt, buffers.next] = [buffers.next, xt];

    yield stepRecord(step, evaluated, xt, buffers.predX0);
  }
};
