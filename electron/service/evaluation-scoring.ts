/**
 * How the studio scores a set of generated images: the model's evaluator turns them into
 * features and logits, which are measured against the model's reference data (FID, precision
 * and recall, Inception Score) and against the requested classes (class accuracy).
 */
import type { EvaluationResult } from '../../common/contract/gallery';
import type { EvaluatorNetwork } from '../inference/evaluator-network';
import type { FeatureMatrix } from '../metrics/dense-matrix';
import type { MatrixKernels } from '../metrics/matrix-kernels';
import { readFeatureMatrix, readSquareMatrix, readVector } from '../metrics/npy-files';
import { prepareReference, qualityMetrics, type ReferenceData } from '../metrics/quality-metrics';

export type ImageScores = Omit<EvaluationResult, 'scale'>;

/** Fraction of images whose top evaluator class is the requested one; null when the evaluator's classes are not the model's. */
export function classAccuracy(logits: FeatureMatrix, classIndices: Int32Array, classCount: number): number | null {
  if (logits.dimension !== classCount || logits.count === 0) return null;
  let correct = 0;
  for (let i = 0; i < logits.count; i++) {
    let best = 0;
    for (let j = 1; j < logits.dimension; j++) if (logits.data[i * logits.dimension + j]! > logits.data[i * logits.dimension + best]!) best = j;
    if (best === classIndices[i]) correct++;
  }
  return correct / logits.count;
}

/** The model's reference statistics and k-NN radii, read from its folder. */
export async function loadReference(evaluator: EvaluatorNetwork, kernels: MatrixKernels): Promise<ReferenceData> {
  const { reference } = evaluator;
  const statistics = { mu: await readVector(reference.mu), sigma: await readSquareMatrix(reference.sigma) };
  return prepareReference(await readFeatureMatrix(reference.features), kernels, statistics);
}

/** `images`: `classIndices.length` images in model space, [C, H, W] each. */
export async function scoreImages(
  evaluator: EvaluatorNetwork,
  images: Float32Array,
  classIndices: Int32Array,
  reference: ReferenceData,
  kernels: MatrixKernels,
): Promise<ImageScores> {
  const outputs = await evaluator.evaluate(images, classIndices.length);
  const metrics = await qualityMetrics(outputs.features, outputs.logits, reference, kernels);
  return {
    sampleCount: metrics.sampleCount,
    fid: metrics.fid,
    inceptionScore: metrics.inceptionScore?.mean ?? null,
    precision: metrics.precision,
    recall: metrics.recall,
    classAccuracy: classAccuracy(outputs.logits, classIndices, evaluator.manifest.classes.count),
  };
}
