/**
 * Classifier-free guidance (Ho & Salimans 2021): ε̃ = ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)) for a UNet
 * trained with a null class ∅, as a denoiser the samplers take like any other. w = 0 is the
 * unconditional model, w = 1 the conditional one, w > 1 pushes past it. Combined with a
 * classifier, the classifier's gradient then steers the guided ε̃ as it steers a plain ε.
 */
import { elementsOf, type BatchShape, type DenoiseFn, type DenoiseWithLabelsFn } from './sampler';

export interface ClassifierFreeOptions {
  /** The UNet with labels per call. */
  denoise: DenoiseWithLabelsFn;
  /** y of each sample of the batch. */
  labels: readonly number[];
  /** ∅: the label the UNet was trained to read as "no class". */
  nullClass: number;
  /** w in ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)). */
  weight: number;
  shape: BatchShape;
  /** The UNet outputs ε then the variance interpolation v ([B, 2C, H, W]). */
  learnedSigma: boolean;
  /**
   * 'doubled' (default): one UNet call on [x, x] with labels [y, ∅], fewer launches and better
   * use of a GPU; 'separate': two calls of the batch's own size, for graphs with a fixed batch.
   */
  batching?: 'doubled' | 'separate';
}

export function classifierFreeDenoiser(options: ClassifierFreeOptions): DenoiseFn {
  const { denoise, labels, nullClass, weight, shape, learnedSigma } = options;
  if (labels.length !== shape.batch) throw new Error(`Classifier-free guidance got ${labels.length} labels for a batch of ${shape.batch}.`);
  if (!Number.isFinite(weight)) throw new Error(`The classifier-free guidance weight must be a finite number, got ${weight}.`);
  const nullLabels = labels.map(() => nullClass);
  const batching = options.batching ?? 'doubled';
  const count = elementsOf(shape);
  const outputChannels = learnedSigma ? 2 : 1;
  const doubledX = batching === 'doubled' ? new Float32Array(2 * count) : null;
  const doubledLabels = [...labels, ...nullLabels];

  const predictions = async (xt: Float32Array, t: number): Promise<{ conditional: Float32Array; unconditional: Float32Array }> => {
    if (doubledX === null) return { conditional: await denoise(xt, t, labels), unconditional: await denoise(xt, t, nullLabels) };
    doubledX.set(xt, 0);
    doubledX.set(xt, count);
    const both = await denoise(doubledX, t, doubledLabels);
    const half = count * outputChannels;
    if (both.length !== 2 * half) throw new Error(`The UNet returned ${both.length} values for the doubled batch of classifier-free guidance but ${2 * half} were expected.`);
    return { conditional: both.subarray(0, half), unconditional: both.subarray(half) };
  };

  return async (xt, t) => {
    const { conditional, unconditional } = await predictions(xt, t);
    // The variance channels v come from the conditional half (as GLIDE's sampler keeps them):
    // the guided sample is meant to be a sample of the class, and v only sets the step's noise
    // level, which the conditional model learned for that class.
    const out = Float32Array.from(conditional);
    const perSample = shape.channels * shape.height * shape.width;
    for (let sample = 0; sample < shape.batch; sample++) {
      const start = sample * perSample * outputChannels;
      for (let i = start; i < start + perSample; i++) {
        // (1 − w)·ε(x, ∅) + w·ε(x, y): the same ε̃, and exactly ε(x, ∅) at w = 0 and ε(x, y) at w = 1.
        out[i] = (1 - weight) * (unconditional[i] as number) + weight * (conditional[i] as number);
      }
    }
    return out;
  };
}
