/**
 * How the studio scores a set of generated images: the model's evaluator turns them into
 * features and logits, which are measured against the model's reference data (FID, precision
 * and recall, Inception Score) and against the requested classes (class accuracy). All of it
 * runs in the inference worker; this side only hands the images over and waits.
 */
import type { EvaluatorNetwork, ReferenceSummary } from '../inference/evaluator-network';
import type { StoredPngs } from '../inference/stored-pngs';
import type { ImageScores } from '../metrics/image-scores';

export { classAccuracy, type ImageScores } from '../metrics/image-scores';

/** The model's reference statistics and k-NN radii, read from its folder and kept in the worker for later scores. */
export async function loadReference(evaluator: EvaluatorNetwork, signal?: AbortSignal): Promise<ReferenceSummary> {
  return evaluator.prepareReference(signal);
}

/**
 * `images`: `classIndices.length` images, in model space ([C, H, W] each) or as the gallery's
 * PNGs (readEvaluationImages); `reference` from loadReference.
 */
export async function scoreImages(
  evaluator: EvaluatorNetwork,
  images: Float32Array | StoredPngs,
  classIndices: Int32Array,
  reference: ReferenceSummary,
  signal?: AbortSignal,
): Promise<ImageScores> {
  if (classIndices.length <= reference.neighbourhood) {
    throw new Error(`Scoring needs more than ${reference.neighbourhood} images (precision and recall use each image's ${reference.neighbourhood} nearest neighbours), got ${classIndices.length}.`);
  }
  return evaluator.score(images, classIndices, signal);
}
