/**
 * Ancestral DDPM sampling (Ho et al. 2020) with classifier guidance by shifting the mean
 * (Dhariwal & Nichol 2021, Algorithm 1: condition_mean).
 */
import { conditionMean } from './guidance';
import { allocateStepBuffers, assertFinite, evaluateStep, startingPoint, stepRecord } from './reverse-step';
import type { Sampler, SamplerInput, SamplerStep } from './sampler';

export const ddpmSample: Sampler = async function* ddpmSample(input: SamplerInput): AsyncGenerator<SamplerStep, void, void> {
  const { shape, noise } = input;
  const buffers = allocateStepBuffers(shape);
  const start = startingPoint(input);
  let xt: Float32Array = start.xt;
  for (let step = start.firstStep; step < input.diffusion.betas.length; step++) {
    // 1. ε_θ(xₜ, t) (and v) → x̂₀, μ̃ₜ(xₜ, x̂₀), log σ²ₜ; ∇ₓ log p(y|xₜ) when guided
    const evaluated = await evaluateStep(input, xt, step, buffers);

    // 2. condition_mean: μ' = μ + σ²·s·∇ₓ log p(y|xₜ)
    if (evaluated.guided !== null) {
      conditionMean(buffers.mean, buffers.logVariance, evaluated.guided.grad, evaluated.guidanceScale);
    }

    // 3. z ~ N(0, I), none at the last step (t = 0)
    noise.step(buffers.noise, step);
    const addNoise = evaluated.index > 0 ? 1 : 0;

    // 4. xₜ₋₁ = μ' + σ·z
    for (let i = 0; i < xt.length; i++) {
      buffers.next[i] = (buffers.mean[i] as number) + addNoise * Math.exp(0.5 * (buffers.logVariance[i] as number)) * (buffers.noise[i] as number);
    }
    assertFinite(buffers.next, shape, step, evaluated.t);
    [xt, buffers.next] = [buffers.next, xt];

    yield stepRecord(step, evaluated, xt, buffers.predX0);
  }
};
