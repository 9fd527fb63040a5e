/**
 * The figures of one set of generated images, from the evaluator's features and logits: FID,
 * precision and recall against the model's reference data, the Inception Score, and the class
 * accuracy against the requested classes.
 */
import type { EvaluationResult } from '../../common/contract/gallery';
import type { FeatureMatrix } from './dense-matrix';
import type { MatrixKernels } from './matrix-kernels';
import { readFeatureMatrix, readSquareMatrix, readVector } from './npy-files';
import { prepareReference, qualityMetrics, type ReferenceData } from './quality-metrics';

export type ImageScores = Omit<EvaluationResult, 'scale'>;

/** Absolute paths of the reference statistics of the real data. */
export interface ReferenceFiles {
  mu: string;
  sigma: string;
  features: string;
}

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
export async function readReference(files: ReferenceFiles, kernels: MatrixKernels): Promise<ReferenceData> {
  const statistics = { mu: await readVector(files.mu), sigma: await readSquareMatrix(files.sigma) };
  return prepareReference(await readFeatureMatrix(files.features), kernels, statistics);
}

export async function scoreOutputs(
  outputs: { features: FeatureMatrix; logits: FeatureMatrix },
  classIndices: Int32Array,
  classCount: number,
  reference: ReferenceData,
  kernels: MatrixKernels,
  signal?: AbortSignal,
): Promise<ImageScores> {
  const metrics = await qualityMetrics(outputs.features, outputs.logits, reference, kernels, signal ? { signal } : {});
  return {
    sampleCount: metrics.sampleCount,
    fid: metrics.fid,
    inceptionScore: metrics.inceptionScore?.mean ?? null,
    precision: metrics.precision,
    recall: metrics.recall,
    classAccuracy: classAccuracy(outputs.logits, classIndices, classCount),
  };
}
