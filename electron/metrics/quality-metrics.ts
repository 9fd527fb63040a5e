/**
 * All four quality figures of a generated set against a model's reference data, the way the
 * command line and the evaluation job use them: the reference's statistics and k-NN radii are
 * prepared once and reused for every guidance scale.
 */
import type { FeatureMatrix } from './dense-matrix';
import { featureStatistics, frechetDistance, type GaussianStatistics } from './frechet-distance';
import { inceptionScore, type InceptionScore } from './inception-score';
import type { MatrixKernels } from './matrix-kernels';
import { DEFAULT_NEIGHBOURHOOD, manifoldRadii, precisionRecallOfManifolds, type ManifoldSet } from './precision-recall';

export const DEFAULT_INCEPTION_SPLITS = 10;

export interface ReferenceData {
  statistics: GaussianStatistics;
  manifold: ManifoldSet;
  neighbourhood: number;
}

export interface QualityMetrics {
  sampleCount: number;
  fid: number;
  precision: number;
  recall: number;
  inceptionScore: InceptionScore | null;
}

export interface MetricOptions {
  /** Parts the Inception Score is averaged over (fewer when there are fewer samples). */
  splits?: number;
  /** Stops the FID's factorisation and eigenvalues between their steps. */
  signal?: AbortSignal;
}

/**
 * The reference's statistics (the given mean and covariance, as the model folder stores them,
 * or estimated from its features) and its k-NN radii.
 */
export async function prepareReference(
  features: FeatureMatrix,
  kernels: MatrixKernels,
  statistics?: GaussianStatistics,
  neighbourhood = DEFAULT_NEIGHBOURHOOD,
): Promise<ReferenceData> {
  if (statistics && statistics.mu.length !== features.dimension) {
    throw new Error(`The reference mean has ${statistics.mu.length} values but the reference features have ${features.dimension} dimensions; they must come from the same evaluator.`);
  }
  return {
    statistics: statistics ?? (await featureStatistics(features, kernels)),
    manifold: { features, radii: await manifoldRadii(features, kernels, neighbourhood) },
    neighbourhood,
  };
}

export async function qualityMetrics(
  generated: FeatureMatrix,
  logits: FeatureMatrix | null,
  reference: ReferenceData,
  kernels: MatrixKernels,
  options: MetricOptions = {},
): Promise<QualityMetrics> {
  if (generated.dimension !== reference.statistics.mu.length) {
    throw new Error(`Generated features have ${generated.dimension} dimensions but the reference has ${reference.statistics.mu.length}; compute both with the same evaluator network.`);
  }
  if (logits && logits.count !== generated.count) {
    throw new Error(`There are ${logits.count} rows of logits for ${generated.count} feature rows; both must come from the same images.`);
  }
  const fid = await frechetDistance(await featureStatistics(generated, kernels), reference.statistics, kernels, options.signal);
  const generatedManifold = { features: generated, radii: await manifoldRadii(generated, kernels, reference.neighbourhood) };
  const { precision, recall } = await precisionRecallOfManifolds(reference.manifold, generatedManifold, kernels);
  const splits = Math.min(options.splits ?? DEFAULT_INCEPTION_SPLITS, generated.count);
  return {
    sampleCount: generated.count,
    fid,
    precision,
    recall,
    inceptionScore: logits ? inceptionScore(logits, splits) : null,
  };
}
