/**
 * Inception Score (Salimans et al. 2016): IS = exp(E_x KL(p(y|x) ‖ p(y))), computed on each of
 * `splits` equal parts of the samples, reported as the mean and standard deviation over parts,
 * as in the original improved-GAN code. Probabilities come from logits by a float64 log-softmax.
 */
import type { FeatureMatrix } from './dense-matrix';

export interface InceptionScore {
  mean: number;
  std: number;
  splits: number;
}

function logSoftmaxRows(logits: FeatureMatrix): Float64Array {
  const { count, dimension, data } = logits;
  const out = new Float64Array(count * dimension);
  for (let i = 0; i < count; i++) {
    const row = i * dimension;
    let max = -Infinity;
    for (let j = 0; j < dimension; j++) max = Math.max(max, data[row + j]!);
    let sum = 0;
    for (let j = 0; j < dimension; j++) sum += Math.exp(data[row + j]! - max);
    const logNormaliser = max + Math.log(sum);
    for (let j = 0; j < dimension; j++) out[row + j] = data[row + j]! - logNormaliser;
  }
  return out;
}

export function inceptionScore(logits: FeatureMatrix, splits = 10): InceptionScore {
  const { count, dimension } = logits;
  if (!Number.isInteger(splits) || splits < 1) throw new Error(`The Inception Score needs a whole number of splits of at least 1, got ${splits}.`);
  if (count < splits) throw new Error(`The Inception Score with ${splits} splits needs at least ${splits} samples, got ${count}; lower the splits or add samples.`);
  for (const value of logits.data) {
    if (!Number.isFinite(value)) throw new Error('The logits hold NaN or infinite values; the evaluator network or its input is broken.');
  }
  const logProbabilities = logSoftmaxRows(logits);
  const scores: number[] = [];
  for (let part = 0; part < splits; part++) {
    const start = Math.floor((part * count) / splits);
    const end = Math.floor(((part + 1) * count) / splits);
    const size = end - start;
    const marginal = new Float64Array(dimension);
    for (let i = start; i < end; i++) {
      for (let j = 0; j < dimension; j++) marginal[j] = marginal[j]! + Math.exp(logProbabilities[i * dimension + j]!) / size;
    }
    let klSum = 0;
    for (let i = start; i < end; i++) {
      for (let j = 0; j < dimension; j++) {
        const logP = logProbabilities[i * dimension + j]!;
        const p = Math.exp(logP);
        // p log p → 0 as p → 0; marginal ≥ p/size > 0 wherever p > 0.
        if (p > 0) klSum += p * (logP - Math.log(marginal[j]!));
      }
    }
    scores.push(Math.exp(klSum / size));
  }
  const mean = scores.reduce((total, score) => total + score, 0) / splits;
  const variance = scores.reduce((total, score) => total + (score - mean) ** 2, 0) / splits;
  return { mean, std: Math.sqrt(variance), splits };
}
