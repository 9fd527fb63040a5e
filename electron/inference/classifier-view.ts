/**
 * What the classifier sees in one sample of a batch, from one classifier-gradient pass: the
 * per-pixel size of ∇ₓ log p(y|xₜ) as an 8-bit map, and its most probable classes.
 */
import { CLASSIFIER_TOP_CLASSES, type ClassProbability } from '../../common/contract/gallery';

export interface GradientHeat {
  /** |∇ₓ log p(y|xₜ)| per pixel, L2 over channels, as round(255 · value / max) [H·W]. */
  heat: Uint8Array;
  /** The largest per-pixel value: what 255 stands for (0 when the gradient vanishes). */
  max: number;
}

/**
 * The heat map of sample `sample` of a [B, C, H, W] gradient. The L2 norm over channels makes a
 * pixel's value the length of the step guidance pushes it by, whatever the colour space.
 */
export function gradientHeat(grad: Float32Array, sample: number, channels: number, plane: number, out: Uint8Array = new Uint8Array(plane)): GradientHeat {
  const base = sample * channels * plane;
  const magnitude = new Float64Array(plane);
  let max = 0;
  for (let p = 0; p < plane; p++) {
    let sumOfSquares = 0;
    for (let c = 0; c < channels; c++) sumOfSquares += (grad[base + c * plane + p] as number) ** 2;
    const value = Math.sqrt(sumOfSquares);
    magnitude[p] = value;
    if (value > max) max = value;
  }
  for (let p = 0; p < plane; p++) out[p] = max > 0 ? Math.round((255 * (magnitude[p] as number)) / max) : 0;
  return { heat: out, max };
}

/** softmax of sample `sample`'s row of [B, K] logits: its `count` most probable classes, most probable first. */
export function topClasses(logits: Float32Array, sample: number, classCount: number, count: number = CLASSIFIER_TOP_CLASSES): ClassProbability[] {
  const row = logits.subarray(sample * classCount, (sample + 1) * classCount);
  let largest = -Infinity;
  for (const logit of row) largest = Math.max(largest, logit);
  let total = 0;
  const weights = Array.from(row, (logit) => {
    const weight = Math.exp(logit - largest);
    total += weight;
    return weight;
  });
  return weights
    .map((weight, classIndex) => ({ classIndex, probability: weight / total }))
    .sort((a, b) => b.probability - a.probability || a.classIndex - b.classIndex)
    .slice(0, count);
}
