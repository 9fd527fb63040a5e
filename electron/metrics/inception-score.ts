/**
 * Inception Score (Salimans et al. 2016), IS = exp(E_x KL(p(y|x) ‖ p(y))), with the semantics of
 * guided-diffusion's reference evaluator (evaluations/evaluator.py): the samples are cut in
 * drawing order into splits of 5,000 (the last one shorter when the count is not a multiple),
 * each split gets its own marginal p(y), and the figure is the plain mean of the split scores.
 * The evaluator reports no spread over splits, so neither does this. Probabilities come from
 * the logits by a float64 log-softmax.
 */
import type { FeatureMatrix } from './dense-matrix';

/** `split_size` of the reference evaluator. */
export const INCEPTION_SPLIT_SIZE = 5000;

export interface InceptionScore {
  /** Mean of the split scores. */
  score: number;
  /** Samples in each split, in drawing order; all but the last are the split size. */
  splitSizes: number[];
}

/** How `count` samples fall into splits of `splitSize` in drawing order. */
export function inceptionSplitSizes(count: number, splitSize = INCEPTION_SPLIT_SIZE): number[] {
  const sizes: number[] = [];
  for (let start = 0; start < count; start += splitSize) sizes.push(Math.min(splitSize, count - start));
  return sizes;
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

/** exp of the mean over rows [start, end) of KL(p(y|x) ‖ p(y)), p(y) the rows' own marginal. */
function splitScore(logProbabilities: Float64Array, dimension: number, start: number, end: number): number {
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
  return Math.exp(klSum / size);
}

/** `logits` must be in drawing order (sample i of an evaluation in row i), never sorted by class. */
export function inceptionScore(logits: FeatureMatrix, splitSize = INCEPTION_SPLIT_SIZE): InceptionScore {
  const { count, dimension } = logits;
  if (!Number.isInteger(splitSize) || splitSize < 1) throw new Error(`The Inception Score needs a split size of at least 1 sample, got ${splitSize}.`);
  if (count < 1) throw new Error('The Inception Score needs at least one sample; there are no logits.');
  for (const value of logits.data) {
    if (!Number.isFinite(value)) throw new Error('The logits hold NaN or infinite values; the evaluator network or its input is broken.');
  }
  const logProbabilities = logSoftmaxRows(logits);
  const splitSizes = inceptionSplitSizes(count, splitSize);
  let total = 0;
  let start = 0;
  for (const size of splitSizes) {
    total += splitScore(logProbabilities, dimension, start, start + size);
    start += size;
  }
  return { score: total / splitSizes.length, splitSizes };
}
