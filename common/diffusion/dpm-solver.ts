/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models", Algorithm 2): the multistep second-order solver of the diffusion ODE in
 * its data-prediction (x̂₀) form, with αₜ = √ᾱₜ, σₜ = √(1−ᾱₜ) and λₜ = log(αₜ/σₜ).
 *
 * Time steps: the respaced timesteps the run's spacing keeps ("ddimN" or "N"), walked from the
 * noisiest down, which is DPM-Solver's "time_uniform" on the discrete model. The first step is
 * first order (no earlier x̂₀ yet). So is the step that lands on the smallest kept timestep
 * ("lower_order_final"): λ jumps most there, r = h_prev/h is small and the second-order
 * extrapolation of x̂₀ overshoots (on Gaussian data it inflates the variance by half at 20 steps).
 * The last step then goes to σ = 0, where λ is infinite and the first-order step lands exactly on
 * x̂₀, as DDIM's last step does (DPM-Solver's denoise_to_zero).
 *
 * A run continued from a later step (`start`, a switch or a fork) has no x̂₀ of the step before, so
 * the multistep history restarts there with a first-order step, as at the first step of a run:
 * the earlier x̂₀ came from other settings, and extrapolating from it would mix the two.
 *
 * Classifier guidance goes through the score, as DPM-Solver's guidance_type="classifier":
 * ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ) before x̂₀ is formed; x̂₀ is then clipped to [−1, 1] when asked
 * (plain clipping: the reference's thresholding off). Deterministic: only x_T is drawn.
 */
import { conditionEps } from './guidance';
import { allocateStepBuffers, assertFinite, evaluateStep, startingPoint, stepRecord } from './reverse-step';
import { elementsOf, type Sampler, type SamplerInput, type SamplerStep } from './sampler';

/** λ = log(α/σ) = ½·log(ᾱ/(1−ᾱ)). */
function halfLogSnr(alphaBar: number): number {
  return 0.5 * Math.log(alphaBar / (1 - alphaBar));
}

export const dpmSolverPlusPlus2mSample: Sampler = async function* dpmSolverPlusPlus2mSample(input: SamplerInput): AsyncGenerator<SamplerStep, void, void> {
  const { diffusion, shape, clipDenoised } = input;
  const buffers = allocateStepBuffers(shape);
  const previousPredX0 = new Float32Array(elementsOf(shape));
  let previousLambda: number | null = null;
  const start = startingPoint(input);
  let xt: Float32Array = start.xt;
  for (let step = start.firstStep; step < diffusion.betas.length; step++) {
    // 1. ε_θ(xₜ, t) (x̂₀ unclipped: guidance comes first); ∇ₓ log p(y|xₜ) when guided
    const evaluated = await evaluateStep({ ...input, clipDenoised: false }, xt, step, buffers);
    const { index } = evaluated;
    const alphaBar = diffusion.alphasCumprod[index] as number;
    const alphaBarNext = diffusion.alphasCumprodPrev[index] as number;
    const sqrtRecipAlphaBar = diffusion.sqrtRecipAlphasCumprod[index] as number;
    const sqrtRecipm1AlphaBar = diffusion.sqrtRecipm1AlphasCumprod[index] as number;

    // 2. ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ)
    if (evaluated.guided !== null) conditionEps(buffers.eps, evaluated.guided.grad, evaluated.guidanceScale, alphaBar);

    // 3. x̂₀ = x_θ(xₜ, t) = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε', clipped when asked
    for (let i = 0; i < xt.length; i++) {
      const predX0 = sqrtRecipAlphaBar * (xt[i] as number) - sqrtRecipm1AlphaBar * (buffers.eps[i] as number);
      buffers.predX0[i] = clipDenoised ? Math.min(1, Math.max(-1, predX0)) : predX0;
    }

    // 4. λₜ, and the step to the next kept timestep: h = λ_next − λₜ; σ_next = 0 at the last step
    const lambda = halfLogSnr(alphaBar);
    const isLast = index === 0;
    const h = isLast ? Number.POSITIVE_INFINITY : halfLogSnr(alphaBarNext) - lambda;
    const sigmaRatio = isLast ? 0 : Math.sqrt((1 - alphaBarNext) / (1 - alphaBar));
    const alphaNext = Math.sqrt(alphaBarNext);
    // −α_next·(e^{−h} − 1), written with expm1 for small h
    const dataWeight = isLast ? 1 : -alphaNext * Math.expm1(-h);

    // 5. D = (1 + 1/(2r))·x̂₀ − 1/(2r)·x̂₀_prev with r = h_prev/h (second order), or D = x̂₀
    //    at the first step and the last two (first order)
    const secondOrder = previousLambda !== null && index > 1;
    const halfRecipR = secondOrder ? h / (2 * (lambda - (previousLambda as number))) : 0;

    // 6. x_next = (σ_next/σₜ)·xₜ − α_next·(e^{−h} − 1)·D
    for (let i = 0; i < xt.length; i++) {
      const predX0 = buffers.predX0[i] as number;
      const d = secondOrder ? (1 + halfRecipR) * predX0 - halfRecipR * (previousPredX0[i] as number) : predX0;
      buffers.next[i] = sigmaRatio * (xt[i] as number) + dataWeight * d;
    }
    assertFinite(buffers.next, shape, step, evaluated.t);
    previousPredX0.set(buffers.predX0);
    previousLambda = lambda;
    [xt, buffers.next] = [buffers.next, xt];

    yield stepRecord(step, evaluated, xt, buffers.predX0);
  }
};
