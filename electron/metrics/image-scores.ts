/**
 * The figures of one set of generated images, from the evaluator's features and logits: FID
 * (and sFID where there are spatial features), precision, recall, density and coverage against
 * the model's reference data, the Inception Score, and the class accuracy against the requested
 * classes. The images must come in drawing order, which the Inception Score's splits follow.
 */
import type { EvaluationResult } from '../../common/contract/evaluation';
import type { FeatureMatrix } from './dense-matrix';
import type { MatrixKernels } from './matrix-kernels';
import { readFeatureMatrix, readSquareMatrix, readVector } from './npy-files';
import { DEFAULT_NEIGHBOURHOOD } from './precision-recall';
import { prepareReference, qualityMetrics, type QualityMetrics, type ReferenceData } from './quality-metrics';

/** What the images alone give; the evaluation adds the scale and what the figures were measured on. */
export type ImageScores = Omit<EvaluationResult, 'scale' | 'provenance'>;

/** Absolute paths of the reference statistics of the real data. */
export interface ReferenceFiles {
  mu: string;
  sigma: string;
  features: string;
  /** The spatial features' mean and covariance, for sFID, when the evaluator has a spatial output. */
  spatialMu?: string;
  spatialSigma?: string;
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
  const spatialStatistics =
    files.spatialMu !== undefined && files.spatialSigma !== undefined
      ? { mu: await readVector(files.spatialMu), sigma: await readSquareMatrix(files.spatialSigma) }
      : null;
  return prepareReference(await readFeatureMatrix(files.features), kernels, statistics, DEFAULT_NEIGHBOURHOOD, spatialStatistics);
}

export async function scoreOutputs(
  outputs: { features: FeatureMatrix; logits: FeatureMatrix; spatial?: FeatureMatrix },
  classIndices: Int32Array,
  classCount: number,
  reference: ReferenceData,
  kernels: MatrixKernels,
  signal?: AbortSignal,
): Promise<ImageScores> {
  const metrics = await qualityMetrics(outputs.features, outputs.logits, reference, kernels, {
    ...(signal ? { signal } : {}),
    ...(outputs.spatial ? { spatial: outputs.spatial } : {}),
  });
  return imageScores(metrics, outputs.logits, classIndices, classCount);
}

/** The figures an evaluation result carries for one scale, from the metrics and the evaluator's logits. */
export function imageScores(metrics: QualityMetrics, logits: FeatureMatrix, classIndices: Int32Array, classCount: number): ImageScores {
  return {
    sampleCount: metrics.sampleCount,
    fid: metrics.fid,
    sfid: metrics.sfid,
    inceptionScore: metrics.inceptionScore?.score ?? null,
    inceptionSplitSizes: metrics.inceptionScore?.splitSizes ?? null,
    precision: metrics.precision,
    recall: metrics.recall,
    density: metrics.density,
    coverage: metrics.coverage,
    classAccuracy: classAccuracy(logits, classIndices, classCount),
  };
}
