/**
 * Classifier guidance (Dhariwal & Nichol 2021): how the noisy classifier's gradient
 * s·∇ₓ log p(y|xₜ) steers a reverse step — `conditionMean` for DDPM (Algorithm 1),
 * `conditionScore` for DDIM (Algorithm 2) — and p(y|xₜ) from the classifier's logits.
 */

/** condition_mean: μ' = μ + σ²·s·∇ₓ log p(y|xₜ), written over `mean`. */
export function conditionMean(mean: Float32Array, logVariance: Float32Array, grad: Float32Array, scale: number): void {
  for (let i = 0; i < mean.length; i++) {
    mean[i] = (mean[i] as number) + Math.exp(logVariance[i] as number) * scale * (grad[i] as number);
  }
}

/** ᾱₜ and the two coefficients of x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε at one step. */
export interface ScoreCoefficients {
  alphaBar: number;
  sqrtRecipAlphaBar: number;
  sqrtRecipm1AlphaBar: number;
}

/**
 * condition_score: ε = (√(1/ᾱₜ)·xₜ − x̂₀)/√(1/ᾱₜ−1); ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ);
 * x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε', written over `predX0`.
 */
export function conditionScore(predX0: Float32Array, xt: Float32Array, grad: Float32Array, scale: number, step: ScoreCoefficients): void {
  const { sqrtRecipAlphaBar, sqrtRecipm1AlphaBar } = step;
  const gradientWeight = Math.sqrt(1 - step.alphaBar) * scale;
  for (let i = 0; i < xt.length; i++) {
    const eps = (sqrtRecipAlphaBar * (xt[i] as number) - (predX0[i] as number)) / sqrtRecipm1AlphaBar;
    const guidedEps = eps - gradientWeight * (grad[i] as number);
    predX0[i] = sqrtRecipAlphaBar * (xt[i] as number) - sqrtRecipm1AlphaBar * guidedEps;
  }
}

/**
 * Classifier guidance on ε itself, before x̂₀ is formed (DPM-Solver's guidance_type="classifier"):
 * ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ), written over `eps`. The same score shift as conditionScore,
 * without the round trip through a clipped x̂₀.
 */
export function conditionEps(eps: Float32Array, grad: Float32Array, scale: number, alphaBar: number): void {
  const gradientWeight = Math.sqrt(1 - alphaBar) * scale;
  for (let i = 0; i < eps.length; i++) eps[i] = (eps[i] as number) - gradientWeight * (grad[i] as number);
}

/**
 * softmax(logits)[y] for each sample, computed stably: logits [B, K], labels [B].
 */
export function classProbabilities(logits: Float32Array, labels: ArrayLike<number>, classCount: number): Float32Array {
  const batch = labels.length;
  if (logits.length !== batch * classCount) {
    throw new Error(`The classifier returned ${logits.length} logits but ${batch} samples × ${classCount} classes were expected.`);
  }
  const probabilities = new Float32Array(batch);
  for (let sample = 0; sample < batch; sample++) {
    const row = logits.subarray(sample * classCount, (sample + 1) * classCount);
    let maximum = -Infinity;
    for (let k = 0; k < classCount; k++) maximum = Math.max(maximum, row[k] as number);
    let sum = 0;
    for (let k = 0; k < classCount; k++) sum += Math.exp((row[k] as number) - maximum);
    probabilities[sample] = Math.exp((row[labels[sample] as number] as number) - maximum) / sum;
  }
  return probabilities;
}
